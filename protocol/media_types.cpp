// Media types and their signatures.
#include "protocol/media_types.hpp"

namespace switchboard::protocol {

namespace {

bool starts(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

unsigned char at(std::string_view s, std::size_t i) {
  return i < s.size() ? static_cast<unsigned char>(s[i]) : 0;
}

}  // namespace

bool is_accepted_media_type(std::string_view t) {
  return t == "image/png" || t == "image/jpeg" || t == "image/gif" || t == "image/webp" || t == "audio/ogg" ||
         t == "audio/mpeg" || t == "audio/mp4" || t == "audio/amr" || t == "application/pdf" ||
         t == "application/octet-stream";
}

bool media_fits(std::string_view t, media_kind kind) {
  if (!is_accepted_media_type(t)) return false;
  switch (kind) {
    case media_kind::image:
      return starts(t, "image/");
    case media_kind::voice:
      return starts(t, "audio/");
    case media_kind::file:
      return true;
  }
  return false;
}

bool media_matches(std::string_view t, std::string_view h) {
  if (t == "application/octet-stream") return true;
  if (t == "image/png") return starts(h, std::string_view("\x89PNG\r\n\x1a\n", 8));
  if (t == "image/jpeg") return at(h, 0) == 0xFF && at(h, 1) == 0xD8 && at(h, 2) == 0xFF;
  if (t == "image/gif") return starts(h, "GIF87a") || starts(h, "GIF89a");
  if (t == "image/webp") return starts(h, "RIFF") && h.size() >= 12 && h.substr(8, 4) == "WEBP";
  if (t == "audio/ogg") return starts(h, "OggS");  // Opus and Vorbis both travel in Ogg pages
  if (t == "audio/amr") return starts(h, "#!AMR");
  if (t == "application/pdf") return starts(h, "%PDF-");
  if (t == "audio/mpeg")  // an ID3 tag, or an MPEG audio frame sync (11 set bits)
    return starts(h, "ID3") || (at(h, 0) == 0xFF && (at(h, 1) & 0xE0) == 0xE0);
  if (t == "audio/mp4")  // an ISO media file (M4A) or raw AAC in ADTS frames
    return (h.size() >= 8 && h.substr(4, 4) == "ftyp") || (at(h, 0) == 0xFF && (at(h, 1) & 0xF6) == 0xF0);
  return false;
}

}  // namespace switchboard::protocol
