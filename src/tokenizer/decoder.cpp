#include "tokenizer/decoder.h"

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.h"
#include "tokenizer/unicode.h"

namespace fathom::tokenizer {

namespace {

using Json = nlohmann::json;

class ByteLevelDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      std::optional<std::string> b = byte_level_to_bytes(t);
      bytes += b ? *b : t;  // a token with an unmapped char contributes its own UTF-8
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(std::string pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    if (pattern_.empty()) return;
    for (std::string& t : tokens) {
      std::string out;
      size_t last = 0;
      for (size_t pos = t.find(pattern_); pos != std::string::npos; pos = t.find(pattern_, last)) {
        out.append(t, last, pos - last);
        out += content_;
        last = pos + pattern_.size();
      }
      out.append(t, last, std::string::npos);
      t = std::move(out);
    }
  }

 private:
  std::string pattern_;
  std::string content_;
};

// <0xAB> tokens become bytes; runs of them are decoded together (lossy).
class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    size_t pending_count = 0;
    auto flush = [&] {
      if (pending_count == 0) return;
      if (is_valid_utf8(pending)) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending_count; ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      pending.clear();
      pending_count = 0;
    };
    for (std::string& t : tokens) {
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
        char* end = nullptr;
        const long v = std::strtol(t.substr(3, 2).c_str(), &end, 16);
        if (end != nullptr && *end == '\0') {
          pending.push_back(static_cast<char>(v));
          ++pending_count;
          continue;
        }
      }
      flush();
      out.push_back(std::move(t));
    }
    flush();
    tokens = std::move(out);
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    // Removes up to start_ leading and stop_ trailing copies of content_ (a single char).
    for (std::string& t : tokens) {
      size_t b = 0;
      size_t e = t.size();
      for (size_t i = 0; i < start_ && t.compare(b, content_.size(), content_) == 0 && b < e; ++i)
        b += content_.size();
      for (size_t i = 0; i < stop_ && e >= b + content_.size() &&
                         t.compare(e - content_.size(), content_.size(), content_) == 0;
           ++i)
        e -= content_.size();
      t = t.substr(b, e - b);
    }
  }

 private:
  std::string content_;
  size_t start_;
  size_t stop_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts)
      : parts_(std::move(parts)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

Result<std::unique_ptr<Decoder>> make_one(const Json& spec) {
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    return invalid_argument("decoder: expected an object with a string \"type\"");
  }
  const std::string type = spec["type"].get<std::string>();
  if (type == "ByteLevel") return std::unique_ptr<Decoder>(std::make_unique<ByteLevelDecoder>());
  if (type == "ByteFallback")
    return std::unique_ptr<Decoder>(std::make_unique<ByteFallbackDecoder>());
  if (type == "Fuse") return std::unique_ptr<Decoder>(std::make_unique<FuseDecoder>());
  if (type == "Replace") {
    if (!spec.contains("pattern") || !spec["pattern"].is_object() ||
        !spec["pattern"].contains("String") || !spec["pattern"]["String"].is_string() ||
        !spec.contains("content") || !spec["content"].is_string()) {
      return unimplemented(
          "decoder Replace: only {\"String\": ...} patterns with a string \"content\" are "
          "supported");
    }
    return std::unique_ptr<Decoder>(std::make_unique<ReplaceDecoder>(
        spec["pattern"]["String"].get<std::string>(), spec["content"].get<std::string>()));
  }
  if (type == "Strip") {
    if (!spec.contains("content") || !spec["content"].is_string()) {
      return invalid_argument("decoder Strip: missing string \"content\"");
    }
    return std::unique_ptr<Decoder>(std::make_unique<StripDecoder>(
        spec["content"].get<std::string>(), spec.value("start", size_t{0}),
        spec.value("stop", size_t{0})));
  }
  if (type == "Sequence") {
    if (!spec.contains("decoders") || !spec["decoders"].is_array()) {
      return invalid_argument("decoder Sequence: missing array \"decoders\"");
    }
    std::vector<std::unique_ptr<Decoder>> parts;
    for (const Json& child : spec["decoders"]) {
      FATHOM_ASSIGN_OR_RETURN(auto part, make_one(child));
      parts.push_back(std::move(part));
    }
    return std::unique_ptr<Decoder>(std::make_unique<SequenceDecoder>(std::move(parts)));
  }
  return unimplemented("decoder type \"" + type + "\" is not supported");
}

}  // namespace

Result<DecoderInfo> make_decoder(const Json& spec) {
  DecoderInfo info;
  if (spec.is_null()) return info;
  FATHOM_ASSIGN_OR_RETURN(info.decoder, make_one(spec));
  info.byte_level_only = spec["type"] == "ByteLevel";
  return info;
}

}  // namespace fathom::tokenizer
