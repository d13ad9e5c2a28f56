// Where media bytes live, content-addressed by SHA-256. The local directory is the backend today;
// the interface leaves room for an S3-compatible store: nothing outside a backend knows a path.
// Every call does blocking I/O: call it from a storage or file thread, never an io_context one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace switchboard::storage {

// An upload being written. Bytes go to a temporary object; commit() names it by its hash, so a
// crash or an abandoned upload never leaves a partial object under a real name. Destroying a
// writer that was not committed discards what it wrote.
class media_writer {
 public:
  virtual ~media_writer() = default;
  // Appends bytes (and hashes them). Throws std::runtime_error on an I/O error.
  virtual void write(const void* data, std::size_t size) = 0;
  virtual std::uint64_t size() const = 0;
  // Ends the writing: the bytes are made durable in the temporary object and their SHA-256
  // (lowercase hex) returned. No write() may follow.
  virtual std::string finish() = 0;
  // After finish(): names the object by its hash. When an object with those bytes exists already,
  // it is kept and the new copy dropped (identical bytes are stored once).
  virtual void commit() = 0;
};

// Reads ranges of a stored object.
class media_reader {
 public:
  virtual ~media_reader() = default;
  virtual std::uint64_t size() const = 0;
  // Reads up to `size` bytes at `offset`; returns how many were read (0 at the end).
  virtual std::size_t read(std::uint64_t offset, void* out, std::size_t size) = 0;
};

class media_backend {
 public:
  virtual ~media_backend() = default;
  // Makes the store ready (creates what it needs) before first use; throws std::runtime_error
  // naming the problem when it cannot be used.
  virtual void open() = 0;
  virtual std::unique_ptr<media_writer> begin() = 0;
  // Null when no object has that hash.
  virtual std::unique_ptr<media_reader> open(const std::string& sha256) = 0;
  virtual bool exists(const std::string& sha256) = 0;
  // Deletes the object (garbage collection); absent objects are fine.
  virtual void remove(const std::string& sha256) = 0;
  // Deletes temporaries older than `age_s` seconds: uploads a crash or a kill cut short. Returns
  // how many.
  virtual std::size_t sweep_temporaries(std::int64_t age_s) = 0;
};

// Objects at <dir>/<hh>/<hh>/<sha256> (the first two and next two hex digits: no directory grows
// past 65,536 entries per level), temporaries in <dir>/tmp. open() creates <dir> and <dir>/tmp.
std::unique_ptr<media_backend> make_local_media_backend(const std::string& dir);
// A reader of any local file (an export's archive); null when it cannot be opened.
std::unique_ptr<media_reader> open_file(const std::string& path);

// True for 64 lowercase hex digits: the only names a backend is asked for.
bool is_sha256_hex(const std::string& s);

}  // namespace switchboard::storage
