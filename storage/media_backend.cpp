// The local-directory media backend.
#include "storage/media_backend.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace switchboard::storage {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

void make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0750) != 0 && errno != EEXIST) fail("cannot create directory", path);
}

void sync_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("cannot open directory", path);
  ::fsync(fd);
  ::close(fd);
}

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

class local_writer final : public media_writer {
 public:
  local_writer(std::string root) : root_(std::move(root)), ctx_(EVP_MD_CTX_new()) {
    unsigned char r[12];
    if (!ctx_ || RAND_bytes(r, sizeof r) != 1 || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("cannot start a SHA-256");
    tmp_ = root_ + "/tmp/upload-" + hex(r, sizeof r);
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd_ < 0) fail("cannot create", tmp_);
  }
  ~local_writer() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
    EVP_MD_CTX_free(ctx_);
  }

  void write(const void* data, std::size_t size) override {
    if (fd_ < 0) throw std::logic_error("media_writer::write after finish");
    auto* p = static_cast<const char*>(data);
    EVP_DigestUpdate(ctx_, p, size);
    while (size > 0) {
      auto n = ::write(fd_, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("cannot write", tmp_);
      p += n;
      size -= static_cast<std::size_t>(n);
      size_ += static_cast<std::uint64_t>(n);
    }
  }
  std::uint64_t size() const override { return size_; }

  std::string finish() override {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    sha_ = hex(md, len);
    if (::fsync(fd_) != 0) fail("cannot fsync", tmp_);
    ::close(fd_);
    fd_ = -1;
    return sha_;
  }

  void commit() override {
    if (sha_.empty()) throw std::logic_error("media_writer::commit before finish");
    const auto& sha = sha_;
    auto d1 = root_ + "/" + sha.substr(0, 2), d2 = d1 + "/" + sha.substr(2, 2);
    make_dir(d1);
    make_dir(d2);
    auto final_path = d2 + "/" + sha;
    struct stat st {};
    if (::stat(final_path.c_str(), &st) == 0) {
      ::unlink(tmp_.c_str());  // the same bytes are stored already
    } else {
      if (::rename(tmp_.c_str(), final_path.c_str()) != 0) fail("cannot rename to", final_path);
      sync_dir(d2);
    }
    committed_ = true;
  }

 private:
  std::string root_, tmp_, sha_;
  EVP_MD_CTX* ctx_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool committed_ = false;
};

class local_reader final : public media_reader {
 public:
  local_reader(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  ~local_reader() override { ::close(fd_); }
  std::uint64_t size() const override { return size_; }
  std::size_t read(std::uint64_t offset, void* out, std::size_t size) override {
    while (true) {
      auto n = ::pread(fd_, out, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error(std::string("cannot read media: ") + std::strerror(errno));
      return static_cast<std::size_t>(n);
    }
  }

 private:
  int fd_;
  std::uint64_t size_;
};

}  // namespace

std::unique_ptr<media_reader> open_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return nullptr;
  }
  return std::make_unique<local_reader>(fd, static_cast<std::uint64_t>(st.st_size));
}

namespace {

class local_backend final : public media_backend {
 public:
  explicit local_backend(std::string dir) : dir_(std::move(dir)) {}
  void open() override {
    make_dir(dir_);
    make_dir(dir_ + "/tmp");
    if (::access((dir_ + "/tmp").c_str(), W_OK) != 0) fail("cannot write to", dir_ + "/tmp");
  }
  std::unique_ptr<media_writer> begin() override { return std::make_unique<local_writer>(dir_); }
  std::unique_ptr<media_reader> open(const std::string& sha) override {
    if (!is_sha256_hex(sha)) return nullptr;
    return open_file(path(sha));
  }
  bool exists(const std::string& sha) override {
    struct stat st {};
    return is_sha256_hex(sha) && ::stat(path(sha).c_str(), &st) == 0;
  }
  void remove(const std::string& sha) override {
    if (is_sha256_hex(sha)) ::unlink(path(sha).c_str());
  }
  std::size_t sweep_temporaries(std::int64_t age_s) override {
    auto dir = dir_ + "/tmp";
    DIR* d = ::opendir(dir.c_str());
    if (!d) fail("cannot open directory", dir);
    std::size_t removed = 0;
    auto cutoff = ::time(nullptr) - age_s;
    while (auto* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind("upload-", 0) != 0) continue;
      struct stat st {};
      auto p = dir + "/" + name;
      if (::stat(p.c_str(), &st) == 0 && st.st_mtime < cutoff && ::unlink(p.c_str()) == 0) ++removed;
    }
    ::closedir(d);
    return removed;
  }

 private:
  std::string path(const std::string& sha) const {
    return dir_ + "/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha;
  }
  std::string dir_;
};

}  // namespace

bool is_sha256_hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::unique_ptr<media_backend> make_local_media_backend(const std::string& dir) {
  return std::make_unique<local_backend>(dir);
}

}  // namespace switchboard::storage
