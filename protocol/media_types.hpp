// The media types an upload may declare (PROTOCOL.md "Media") and the check that the bytes are
// what the Content-Type says.
#pragma once

#include <string_view>

namespace switchboard::protocol {

enum class media_kind { image, voice, file };

// Whether `content_type` (lowercase, without parameters) is one uploads accept.
bool is_accepted_media_type(std::string_view content_type);
// The message type a media type may be sent as: images as `image`, audio as `voice`; every
// accepted type may also be sent as a `file`.
bool media_fits(std::string_view content_type, media_kind kind);
// How many leading bytes media_matches looks at (at most).
inline constexpr std::size_t media_sniff_bytes = 16;
// Whether the first bytes of an upload are what `content_type` says (application/octet-stream:
// anything). `head` may be shorter than media_sniff_bytes only when the whole upload is.
bool media_matches(std::string_view content_type, std::string_view head);

}  // namespace switchboard::protocol
