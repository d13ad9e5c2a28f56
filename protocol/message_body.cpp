// Message bodies.
#include "protocol/message_body.hpp"

#include <boost/json.hpp>

#include "protocol/fields.hpp"
#include "protocol/types.hpp"

namespace switchboard::protocol {

namespace json = boost::json;

result<message_body> check_message_body(const std::string& type, const json::object& body,
                                        const std::string& prefix) {
  fields f(body, prefix);
  if (type == "text") {
    auto* t = body.if_contains("text");
    if (!t || !t->is_string()) return error{error_code::bad_request, prefix + "text must be a string"};
    const auto& text = t->get_string();
    if (text.empty()) return error{error_code::bad_request, prefix + "text must not be empty"};
    if (text.size() > max_text_bytes)
      return error{error_code::too_large,
                   prefix + "text is over " + std::to_string(max_text_bytes) + " bytes"};
    return message_body{json::serialize(json::object{{"text", text}}), std::nullopt, media_kind::file};
  }
  if (type == "image" || type == "voice" || type == "file") {
    auto media = f.id("media_id");
    json::object canonical{{"media_id", id_string(media)}};
    message_body out;
    if (type == "image") {
      out.kind = media_kind::image;
      canonical["width"] = f.integer("width", 1, max_image_side);
      canonical["height"] = f.integer("height", 1, max_image_side);
    } else if (type == "voice") {
      out.kind = media_kind::voice;
      canonical["duration_ms"] = f.integer("duration_ms", 1, max_voice_ms);
    } else {
      out.kind = media_kind::file;
      canonical["name"] = f.str("name", 1, max_file_name_bytes);
      canonical["size"] = f.integer("size", 1, max_file_size);
    }
    if (!f.ok()) return f.err();
    out.json = json::serialize(canonical);
    out.media = media;
    return out;
  }
  if (type == "system")
    return error{error_code::bad_request, "data.type: system messages are written by the server"};
  return error{error_code::bad_request, "data.type must be one of text, image, voice, file"};
}

}  // namespace switchboard::protocol
