// The bodies of the message types a client may send (PROTOCOL.md "Message"): checked and reduced
// to their canonical JSON (unknown fields dropped), which is what is stored and served back.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "protocol/errors.hpp"
#include "protocol/media_types.hpp"

namespace switchboard::protocol {

inline constexpr std::size_t max_text_bytes = 8192;
// Bounds of the numbers an image, voice or file body carries.
inline constexpr std::int64_t max_image_side = 100000;
inline constexpr std::int64_t max_voice_ms = 24LL * 3600 * 1000;
inline constexpr std::int64_t max_file_size = 2147483647;  // the largest media.max_file_bytes
inline constexpr std::size_t max_file_name_bytes = 255;

struct message_body {
  std::string json;  // canonical
  // For image, voice and file: the media the body names (0 when the id is not one of ours: no
  // such media) and the kind it must fit.
  std::optional<std::int64_t> media;
  media_kind kind = media_kind::file;
};

// `type` as a client sends it (`system` is refused: only the server writes it); errors name
// fields under `prefix` ("data.body.").
result<message_body> check_message_body(const std::string& type, const boost::json::object& body,
                                        const std::string& prefix = "data.body.");

}  // namespace switchboard::protocol
