// The cost of sealing and opening one message body (storage/body_cipher), in nanoseconds: what
// storage.encryption_key adds to each send (seal, on the writer's thread) and each read (open).
// Run by bench/governance.sh; prints one JSON line.
#include <chrono>
#include <cstdio>
#include <string>

#include "storage/body_cipher.hpp"

using switchboard::storage::body_cipher;

int main() {
  body_cipher::install(std::string(64, '5'), {});
  const std::string body = R"({"text":")" + std::string(100, 'x') + R"("})";  // the load generator's size
  constexpr int rounds = 200000;
  std::size_t sink = 0;
  auto t0 = std::chrono::steady_clock::now();
  std::string sealed;
  for (int i = 0; i < rounds; ++i) {
    sealed = body_cipher::seal(body);
    sink += sealed.size();
  }
  auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) sink += body_cipher::open(sealed).size();
  auto t2 = std::chrono::steady_clock::now();
  auto ns = [&](auto a, auto b) { return std::chrono::duration<double, std::nano>(b - a).count() / rounds; };
  std::printf("{\"body_bytes\":%zu,\"stored_bytes\":%zu,\"seal_ns\":%.0f,\"open_ns\":%.0f,\"check\":%zu}\n",
              body.size(), sealed.size(), ns(t0, t1), ns(t1, t2), sink % 7);
  return 0;
}
