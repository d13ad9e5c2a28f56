// Message bodies at rest: sealing, opening, key rotation and tampering, without a database.
#include <catch2/catch.hpp>

#include "storage/body_cipher.hpp"

using switchboard::storage::body_cipher;

namespace {
const std::string key_a(64, 'a'), key_b = std::string(32, '0') + std::string(32, '7');
const std::string body = R"({"text":"the quarterly numbers are secret"})";
}  // namespace

TEST_CASE("without a key, bodies are stored as they are", "[body_cipher]") {
  body_cipher::install("", {});
  CHECK(body_cipher::seal(body) == body);
  CHECK(body_cipher::open(body) == body);
  CHECK(body_cipher::sealing_key_id().empty());
}

TEST_CASE("sealed bodies hide their text, open to it, and name their key", "[body_cipher]") {
  body_cipher::install(key_a, {});
  auto sealed = body_cipher::seal(body);
  CHECK(sealed.rfind("sb1:" + body_cipher::sealing_key_id() + ":", 0) == 0);
  CHECK(sealed.find("quarterly") == std::string::npos);
  CHECK(body_cipher::seal(body) != sealed);  // a fresh nonce each time
  CHECK(body_cipher::open(sealed) == body);
  CHECK(body_cipher::open("{}") == "{}");  // a recalled body, or one from before the key
  CHECK(body_cipher::open(body_cipher::seal("")) == "");

  // An altered ciphertext does not open.
  auto altered = sealed;
  altered[altered.size() - 6] = altered[altered.size() - 6] == 'A' ? 'B' : 'A';
  CHECK_THROWS(body_cipher::open(altered));
  CHECK_THROWS(body_cipher::open("sb1:" + body_cipher::sealing_key_id() + ":not base64!"));
  CHECK_THROWS(body_cipher::open("sb1:nokeyid"));
}

TEST_CASE("rotation: a new key seals, the old one still opens what it sealed", "[body_cipher]") {
  body_cipher::install(key_a, {});
  auto old_id = body_cipher::sealing_key_id();
  auto under_a = body_cipher::seal(body);
  body_cipher::install(key_b, {key_a});
  CHECK(body_cipher::sealing_key_id() != old_id);
  auto under_b = body_cipher::seal(body);
  CHECK(body_cipher::open(under_a) == body);
  CHECK(body_cipher::open(under_b) == body);
  // Without the old key, its bodies are an error, never garbage.
  body_cipher::install(key_b, {});
  CHECK_THROWS(body_cipher::open(under_a));
  CHECK(body_cipher::open(under_b) == body);
  body_cipher::install("", {});
}
