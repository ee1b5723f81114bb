#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "formats/gguf.h"
#include "formats/mapped_file.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/decoder.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer_json.h"
#include "tokenizer/unicode.h"

namespace fathom::tokenizer {

namespace {

using Json = nlohmann::json;

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return data_loss("error reading " + path);
  return ss.str();
}

Result<Json> parse_json(std::string_view text, const std::string& what) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_argument(what + ": not valid JSON");
  return j;
}

}  // namespace

struct Tokenizer::Impl {
  TokenizerConfig config;
  std::vector<AddedToken> added_tokens;
  AddedTokenMatcher raw_matcher;         // tokens with normalized == false
  AddedTokenMatcher normalized_matcher;  // tokens with normalized == true
  std::unique_ptr<Normalizer> normalizer;
  PreTokenizerInfo pre;
  BpeModel model;
  PostProcessor post;
  DecoderInfo decoder;
  std::vector<std::string> id_text;   // token as written, added tokens override the model
  std::vector<std::string> id_bytes;  // byte-level decoder output bytes per id
  std::vector<uint8_t> special;       // 1 for special added tokens
  StringIdMap added_by_content;

  void encode_model(std::string_view text, std::vector<int32_t>& out) const {
    if (text.empty()) return;
    thread_local std::vector<std::string_view> pieces;
    thread_local PieceArena arena;
    pieces.clear();
    pieces.push_back(text);
    if (pre.pre_tokenizer) pre.pre_tokenizer->split(pieces, arena);
    for (std::string_view p : pieces) model.encode(p, out);
    arena.clear();
  }

  void encode_normalized(std::string_view text, std::vector<int32_t>& out) const {
    std::string normalized_buf;
    if (normalizer) {
      normalized_buf.assign(text);
      normalizer->normalize(normalized_buf);
      text = normalized_buf;
    }
    if (normalized_matcher.empty()) {
      encode_model(text, out);
      return;
    }
    std::vector<AddedSplit> splits;
    normalized_matcher.split(text, splits);
    for (const AddedSplit& s : splits) {
      if (s.token_id >= 0) {
        out.push_back(s.token_id);
      } else {
        encode_model(s.text, out);
      }
    }
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::load(const std::string& model_dir) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(model_dir, ec) && formats::looks_like_gguf(model_dir)) {
    // A GGUF model file carries its tokenizer (and chat template) in its metadata.
    FATHOM_ASSIGN_OR_RETURN(formats::GgufFile file, formats::GgufFile::open(model_dir));
    FATHOM_ASSIGN_OR_RETURN(HfTokenizerFiles files,
                            hf_tokenizer_from_gguf(file.contents(), model_dir));
    Result<Tokenizer> t = from_json(files.tokenizer_json, files.config_json);
    if (!t.ok()) return t.status().with_context(model_dir);
    return t;
  }
  // Mapped, not read: the parser reads it once, and a copy of 10 MB costs as much again.
  FATHOM_ASSIGN_OR_RETURN(formats::MappedFile tok_json,
                          formats::MappedFile::open(model_dir + "/tokenizer.json"));
  (void)tok_json.prefault();  // one call maps every page; without it, a fault per 4 KiB
  std::string cfg_json;
  Result<std::string> cfg = read_file(model_dir + "/tokenizer_config.json");
  if (cfg.ok()) cfg_json = std::move(*cfg);
  Result<Tokenizer> t = from_json(
      std::string_view(reinterpret_cast<const char*>(tok_json.data()), tok_json.size()), cfg_json);
  if (!t.ok()) return t.status().with_context(model_dir);
  if (t->impl_->config.chat_template.empty()) {
    Result<std::string> jinja = read_file(model_dir + "/chat_template.jinja");
    if (jinja.ok()) t->impl_->config.chat_template = std::move(*jinja);
  }
  return t;
}

Result<Tokenizer> Tokenizer::from_json(std::string_view tokenizer_json,
                                       std::string_view config_json) {
  try {
    auto impl = std::make_unique<Impl>();
    FATHOM_ASSIGN_OR_RETURN(TokenizerJson parsed, parse_tokenizer_json(tokenizer_json));
    const Json& tj = parsed.dom;
    if (!tj.is_object()) return invalid_argument("tokenizer.json: expected a JSON object");
    if (!config_json.empty()) {
      FATHOM_ASSIGN_OR_RETURN(Json cj, parse_json(config_json, "tokenizer_config.json"));
      FATHOM_ASSIGN_OR_RETURN(impl->config, parse_tokenizer_config(cj));
    }
    auto ctx = [](const char* field) { return std::string("tokenizer.json: ") + field; };
    const Json kNull;
    auto field = [&](const char* key) -> const Json& { return tj.contains(key) ? tj[key] : kNull; };

    Result<std::unique_ptr<Normalizer>> normalizer = make_normalizer(field("normalizer"));
    if (!normalizer.ok()) return normalizer.status().with_context(ctx("normalizer"));
    impl->normalizer = std::move(*normalizer);
    Result<PreTokenizerInfo> pre = make_pre_tokenizer(field("pre_tokenizer"));
    if (!pre.ok()) return pre.status().with_context(ctx("pre_tokenizer"));
    impl->pre = std::move(*pre);
    if (!tj.contains("model")) return invalid_argument(ctx("model") + ": missing");
    Result<BpeModel> model = BpeModel::from_json(tj["model"], parsed.lists, impl->pre.byte_level);
    if (!model.ok()) return model.status().with_context("tokenizer.json");
    impl->model = std::move(*model);
    Result<PostProcessor> post = make_post_processor(field("post_processor"));
    if (!post.ok()) return post.status().with_context(ctx("post_processor"));
    impl->post = std::move(*post);
    Result<DecoderInfo> decoder = make_decoder(field("decoder"));
    if (!decoder.ok()) return decoder.status().with_context(ctx("decoder"));
    impl->decoder = std::move(*decoder);
    Result<std::vector<AddedToken>> added = parse_added_tokens(field("added_tokens"));
    if (!added.ok()) return added.status().with_context("tokenizer.json");
    impl->added_tokens = std::move(*added);

    // Per-id tables: text, decoded bytes, special flag.
    int32_t size = impl->model.vocab_end();
    for (const AddedToken& t : impl->added_tokens) size = std::max(size, t.id + 1);
    impl->id_text.assign(size, std::string());
    impl->special.assign(size, 0);
    for (int32_t id = 0; id < impl->model.vocab_end(); ++id) {
      if (const std::string* t = impl->model.id_to_token(id)) impl->id_text[id] = *t;
    }
    for (const AddedToken& t : impl->added_tokens) {
      impl->id_text[t.id] = t.content;
      impl->special[t.id] = t.special ? 1 : 0;
      impl->added_by_content.emplace(t.content, t.id);
    }
    if (impl->decoder.byte_level_only) {
      impl->id_bytes.resize(size);
      for (int32_t id = 0; id < size; ++id) {
        std::optional<std::string> b = byte_level_to_bytes(impl->id_text[id]);
        impl->id_bytes[id] = b ? std::move(*b) : impl->id_text[id];
      }
    }

    // Matchers: non-normalized tokens on raw text, normalized ones after the normalizer.
    std::vector<AddedToken> raw_tokens;
    std::vector<std::string> raw_patterns;
    std::vector<AddedToken> norm_tokens;
    std::vector<std::string> norm_patterns;
    for (const AddedToken& t : impl->added_tokens) {
      if (t.normalized && impl->normalizer) {
        std::string pattern = t.content;
        impl->normalizer->normalize(pattern);
        norm_tokens.push_back(t);
        norm_patterns.push_back(std::move(pattern));
      } else if (t.normalized) {
        norm_tokens.push_back(t);
        norm_patterns.push_back(t.content);
      } else {
        raw_tokens.push_back(t);
        raw_patterns.push_back(t.content);
      }
    }
    impl->raw_matcher = AddedTokenMatcher(std::move(raw_tokens), std::move(raw_patterns));
    impl->normalized_matcher = AddedTokenMatcher(std::move(norm_tokens), std::move(norm_patterns));

    Tokenizer tok(std::move(impl));
    auto lookup = [&](const std::optional<std::string>& s,
                      const char* key) -> Result<std::optional<int32_t>> {
      if (!s) return std::optional<int32_t>();
      std::optional<int32_t> id = tok.token_to_id(*s);
      if (!id)
        return invalid_argument(std::string("tokenizer_config.json: ") + key + " \"" + *s +
                                "\" is not a token");
      return id;
    };
    FATHOM_ASSIGN_OR_RETURN(tok.bos_id_, lookup(tok.impl_->config.bos_token, "bos_token"));
    FATHOM_ASSIGN_OR_RETURN(tok.eos_id_, lookup(tok.impl_->config.eos_token, "eos_token"));
    return tok;
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(std::string("tokenizer files: unexpected JSON shape: ") + e.what());
  }
}

Result<std::vector<int32_t>> Tokenizer::encode(std::string_view text,
                                               bool add_special_tokens) const {
  std::string repaired;
  if (!is_valid_utf8(text)) {
    repaired = utf8_lossy(text);
    text = repaired;
  }
  const Impl& im = *impl_;
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (im.raw_matcher.empty()) {
    im.encode_normalized(text, ids);
  } else {
    std::vector<AddedSplit> splits;
    im.raw_matcher.split(text, splits);
    for (const AddedSplit& s : splits) {
      if (s.token_id >= 0) {
        ids.push_back(s.token_id);
      } else {
        im.encode_normalized(s.text, ids);
      }
    }
  }
  if (!add_special_tokens) return ids;
  if (im.config.add_bos_token || im.config.add_eos_token) {
    // transformers' Llama-style rule replaces the tokenizer.json post-processor.
    std::vector<int32_t> out;
    out.reserve(ids.size() + 2);
    if (im.config.add_bos_token.value_or(false) && bos_id_) out.push_back(*bos_id_);
    out.insert(out.end(), ids.begin(), ids.end());
    if (im.config.add_eos_token.value_or(false) && eos_id_) out.push_back(*eos_id_);
    return out;
  }
  if (im.post.adds_tokens()) {
    ids.insert(ids.begin(), im.post.prefix.begin(), im.post.prefix.end());
    ids.insert(ids.end(), im.post.suffix.begin(), im.post.suffix.end());
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const Impl& im = *impl_;
  const auto size = static_cast<int32_t>(im.id_text.size());
  auto keep = [&](int32_t id) {
    return id >= 0 && id < size && !im.id_text[id].empty() &&
           !(skip_special_tokens && im.special[id]);
  };
  if (im.decoder.byte_level_only) {
    std::string bytes;
    for (int32_t id : ids)
      if (keep(id)) bytes += im.id_bytes[id];
    return utf8_lossy(bytes);
  }
  std::vector<std::string> tokens;
  for (int32_t id : ids)
    if (keep(id)) tokens.push_back(im.id_text[id]);
  if (!im.decoder.decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out.push_back(' ');
      out += tokens[i];
    }
    return out;
  }
  im.decoder.decoder->decode_chain(tokens);
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < static_cast<int32_t>(impl_->special.size()) && impl_->special[id] != 0;
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->id_text.size()); }

std::string Tokenizer::token_text(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return std::string();
  return impl_->id_text[id];
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  const auto it = impl_->added_by_content.find(token);
  if (it != impl_->added_by_content.end()) return it->second;
  return impl_->model.token_to_id(token);
}

const std::string* Tokenizer::token_bytes(int32_t id) const {
  if (!impl_->decoder.byte_level_only || id < 0 || id >= vocab_size() || impl_->id_text[id].empty())
    return nullptr;
  return &impl_->id_bytes[id];
}

bool Tokenizer::has_byte_level_decoder() const { return impl_->decoder.byte_level_only; }

const TokenizerConfig& Tokenizer::config() const { return impl_->config; }

}  // namespace fathom::tokenizer
