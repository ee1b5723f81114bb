#include "tokenizer/gguf_vocab.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>

namespace fathom::tokenizer {
namespace {

using formats::GgufValue;
using formats::GgufValueType;
using Json = nlohmann::json;

// llama.cpp's token types (llama_token_type).
constexpr int64_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6;

// One `pre` name: the Split regexes (in order) of its Hugging Face pre-tokenizer, which
// llama.cpp's llm_tokenizer_bpe also lists for it, and the pipeline details around them.
struct PreRow {
  const char* name;
  std::vector<std::string> regexes;
  bool nfc = false;            ///< NFC normalizer (Qwen2)
  bool ignore_merges = false;  ///< whole-word vocabulary hits skip the merges (Llama 3)
};

const std::vector<PreRow>& pre_table() {
  static const std::string kQwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const std::vector<PreRow> kRows = {
      {"llama-bpe",
       {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
       false,
       true},
      {"qwen2", {kQwen2}, true, false},
      {"deepseek-r1-qwen", {kQwen2}, true, false},
      {"deepseek-llm",
       {"[\r\n]",
        "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-"
        "Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-"
        "ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-"
        "ꞎꭰ-ꮿﬀ-ﬆﬓ-"
        "ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
        "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+", "\\p{N}+"},
       false,
       false},
      {"deepseek-v3",
       {"\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
        R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^)"
        "\r\n"
        R"(\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[)"
        "\r\n"
        R"(]*|\s*[)"
        "\r\n"
        R"(]+|\s+(?!\S)|\s+)"},
       false,
       false},
  };
  return kRows;
}

std::string supported_pre_names() {
  std::string s;
  for (const PreRow& r : pre_table()) s += (s.empty() ? "" : ", ") + std::string(r.name);
  return s;
}

Json pre_tokenizer_json(const PreRow& row) {
  Json seq = Json::array();
  for (const std::string& re : row.regexes)
    seq.push_back({{"type", "Split"},
                   {"pattern", {{"Regex", re}}},
                   {"behavior", "Isolated"},
                   {"invert", false}});
  seq.push_back({{"type", "ByteLevel"},
                 {"add_prefix_space", false},
                 {"trim_offsets", true},
                 {"use_regex", false}});
  return {{"type", "Sequence"}, {"pretokenizers", seq}};
}

// The Split regexes of a tokenizer.json pre_tokenizer (a Sequence of Splits and a ByteLevel, or
// one Split); nullopt for any other shape.
std::optional<std::vector<std::string>> split_regexes(const Json& pre) {
  std::vector<std::string> out;
  const Json* list = nullptr;
  Json single = Json::array();
  if (pre.is_object() && pre.value("type", "") == "Sequence" && pre.contains("pretokenizers")) {
    list = &pre["pretokenizers"];
  } else if (pre.is_object()) {
    single.push_back(pre);
    list = &single;
  } else {
    return std::nullopt;
  }
  for (const Json& p : *list) {
    const std::string type = p.value("type", "");
    if (type == "ByteLevel") continue;
    if (type != "Split" || !p.contains("pattern") || !p["pattern"].contains("Regex") ||
        !p["pattern"]["Regex"].is_string())
      return std::nullopt;
    out.push_back(p["pattern"]["Regex"].get<std::string>());
  }
  return out;
}

// tokenizer.ggml.KEY, checked for its type; problems collected.
class Keys {
 public:
  Keys(const formats::GgufContents& g, std::vector<std::string>& problems)
      : g_(g), problems_(problems) {}
  const GgufValue* get(const std::string& key, GgufValueType type, bool required,
                       GgufValueType element = GgufValueType::kString) {
    const GgufValue* v = g_.find(key);
    if (!v) {
      if (required) problems_.push_back("metadata '" + key + "' is missing");
      return nullptr;
    }
    const bool ok =
        type == GgufValueType::kU32 ? v->is_integer()
        : type == GgufValueType::kArray
            ? v->type == GgufValueType::kArray &&
                  (element == GgufValueType::kString ? v->element_type == GgufValueType::kString
                                                     : v->is_array_of_integers())
            : v->type == type;
    if (!ok) {
      problems_.push_back(
          "metadata '" + key + "' must be " +
          (type == GgufValueType::kArray
               ? std::string("an array of ") +
                     (element == GgufValueType::kString ? "strings" : "integers")
               : std::string(type == GgufValueType::kU32 ? "an integer"
                                                         : formats::gguf_value_type_name(type))) +
          ", got " + formats::gguf_value_type_name(v->type));
      return nullptr;
    }
    return v;
  }

 private:
  const formats::GgufContents& g_;
  std::vector<std::string>& problems_;
};

Json byte_level(bool add_prefix_space, bool trim_offsets) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", trim_offsets},
          {"use_regex", true}};
}

std::string token_name(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return {};
}

}  // namespace

Result<HfTokenizerFiles> hf_tokenizer_from_gguf(const formats::GgufContents& g,
                                                const std::string& source) {
  std::vector<std::string> problems;
  Keys k(g, problems);
  const GgufValue* model = k.get("tokenizer.ggml.model", GgufValueType::kString, true);
  const GgufValue* pre = k.get("tokenizer.ggml.pre", GgufValueType::kString, true);
  const GgufValue* tokens = k.get("tokenizer.ggml.tokens", GgufValueType::kArray, true);
  const GgufValue* types =
      k.get("tokenizer.ggml.token_type", GgufValueType::kArray, false, GgufValueType::kI32);
  const GgufValue* merges = k.get("tokenizer.ggml.merges", GgufValueType::kArray, true);
  const GgufValue* bos = k.get("tokenizer.ggml.bos_token_id", GgufValueType::kU32, false);
  const GgufValue* eos = k.get("tokenizer.ggml.eos_token_id", GgufValueType::kU32, false);
  const GgufValue* add_bos = k.get("tokenizer.ggml.add_bos_token", GgufValueType::kBool, false);
  const GgufValue* add_eos = k.get("tokenizer.ggml.add_eos_token", GgufValueType::kBool, false);
  const GgufValue* chat = k.get("tokenizer.chat_template", GgufValueType::kString, false);
  if (model && model->text != "gpt2")
    problems.push_back("tokenizer.ggml.model '" + model->text +
                       "' is not supported (gpt2: byte-level BPE)");
  const PreRow* row = nullptr;
  if (pre) {
    for (const PreRow& r : pre_table())
      if (pre->text == r.name) row = &r;
    if (!row)
      problems.push_back("tokenizer.ggml.pre '" + pre->text + "' is not supported (" +
                         supported_pre_names() + ")");
  }
  const size_t n = tokens ? tokens->texts.size() : 0;
  if (types && types->integers.size() != n)
    problems.push_back("tokenizer.ggml.token_type has " + std::to_string(types->integers.size()) +
                       " entries for " + std::to_string(n) + " tokens");
  for (const GgufValue* id : {bos, eos})
    if (id && (id->integer < 0 || static_cast<size_t>(id->integer) >= n))
      problems.push_back(std::string("tokenizer.ggml.") + (id == bos ? "bos" : "eos") +
                         "_token_id " + std::to_string(id->integer) + " is not a token id (0.." +
                         std::to_string(n) + ")");
  if (!problems.empty()) {
    std::string msg = source + ": invalid GGUF tokenizer:";
    for (const auto& p : problems) msg += "\n  " + p;
    return invalid_argument(msg);
  }

  Json vocab = Json::object(), added = Json::array();
  for (size_t i = 0; i < n; ++i) {
    const int64_t type = types ? types->integers[i] : kNormal;
    const std::string& text = tokens->texts[i];
    if (type == kControl || type == kUserDefined) {
      added.push_back({{"id", i},
                       {"content", text},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", type != kControl},
                       {"special", type == kControl}});
    } else if (type != kUnused && !vocab.contains(text)) {
      vocab[text] = i;
    }
  }
  Json tj = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", row->nfc ? Json{{"type", "NFC"}} : Json(nullptr)},
      {"pre_tokenizer", pre_tokenizer_json(*row)},
      {"post_processor", byte_level(true, false)},
      {"decoder", byte_level(true, true)},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", row->ignore_merges},
        {"vocab", vocab},
        {"merges", merges->texts}}},
  };
  Json cj = {{"add_bos_token", add_bos ? add_bos->integer != 0 : false},
             {"add_eos_token", add_eos ? add_eos->integer != 0 : false}};
  if (bos) cj["bos_token"] = tokens->texts[static_cast<size_t>(bos->integer)];
  if (eos) cj["eos_token"] = tokens->texts[static_cast<size_t>(eos->integer)];
  if (chat) cj["chat_template"] = chat->text;
  return HfTokenizerFiles{tj.dump(), cj.dump()};
}

Result<std::vector<std::pair<std::string, GgufValue>>> gguf_tokenizer_metadata(
    std::string_view tokenizer_json, std::string_view config_json) {
  Json tj, cj = Json::object();
  try {
    tj = Json::parse(tokenizer_json);
    if (!config_json.empty()) cj = Json::parse(config_json);
  } catch (const Json::exception& e) {
    return invalid_argument(std::string("tokenizer files are not valid JSON: ") + e.what());
  }
  if (!tj.is_object() || !tj.contains("model") || !tj["model"].is_object() ||
      tj["model"].value("type", "") != "BPE" || !tj["model"].contains("vocab") ||
      !tj["model"]["vocab"].is_object() || !tj["model"].contains("merges") ||
      !tj["model"]["merges"].is_array())
    return invalid_argument("tokenizer.json: model must be a BPE model with vocab and merges");
  const auto regexes = split_regexes(tj.value("pre_tokenizer", Json()));
  const PreRow* row = nullptr;
  for (const PreRow& r : pre_table())
    if (regexes && *regexes == r.regexes && !row) row = &r;
  if (!row)
    return invalid_argument("tokenizer.json: pre_tokenizer is none of llama.cpp's " +
                            supported_pre_names());

  std::map<int64_t, std::pair<std::string, int64_t>> by_id;  // id -> (text, type)
  for (auto it = tj["model"]["vocab"].begin(); it != tj["model"]["vocab"].end(); ++it)
    if (it->is_number_integer()) by_id[it->get<int64_t>()] = {it.key(), kNormal};
  if (tj.contains("added_tokens") && tj["added_tokens"].is_array())
    for (const Json& a : tj["added_tokens"])
      if (a.contains("id") && a["id"].is_number_integer() && a.contains("content") &&
          a["content"].is_string())
        by_id[a["id"].get<int64_t>()] = {a["content"].get<std::string>(),
                                         a.value("special", false) ? kControl : kUserDefined};
  const int64_t n = by_id.empty() ? 0 : by_id.rbegin()->first + 1;
  std::vector<std::string> tokens(static_cast<size_t>(n));
  std::vector<int64_t> types(static_cast<size_t>(n), kUnused);
  for (int64_t i = 0; i < n; ++i) tokens[static_cast<size_t>(i)] = "[PAD" + std::to_string(i) + "]";
  std::map<std::string, int64_t> id_of;
  for (const auto& [id, tt] : by_id) {
    tokens[static_cast<size_t>(id)] = tt.first;
    types[static_cast<size_t>(id)] = tt.second;
    id_of.emplace(tt.first, id);
  }
  std::vector<std::string> merges;
  for (const Json& m : tj["model"]["merges"]) {
    if (m.is_string())
      merges.push_back(m.get<std::string>());
    else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
      merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    else
      return invalid_argument("tokenizer.json: a merge is neither \"a b\" nor [\"a\", \"b\"]");
  }
  std::vector<std::pair<std::string, GgufValue>> out = {
      {"tokenizer.ggml.model", GgufValue::string("gpt2")},
      {"tokenizer.ggml.pre", GgufValue::string(row->name)},
      {"tokenizer.ggml.tokens", GgufValue::string_array(std::move(tokens))},
      {"tokenizer.ggml.token_type", GgufValue::i32_array(std::move(types))},
      {"tokenizer.ggml.merges", GgufValue::string_array(std::move(merges))},
  };
  for (const char* which : {"bos", "eos"}) {
    const std::string name = token_name(cj.value(std::string(which) + "_token", Json()));
    if (auto it = id_of.find(name); !name.empty() && it != id_of.end())
      out.emplace_back(std::string("tokenizer.ggml.") + which + "_token_id",
                       GgufValue::u32(static_cast<uint32_t>(it->second)));
  }
  // transformers adds BOS by add_bos_token, or by a TemplateProcessing post-processor (Llama 3).
  bool add_bos = cj.value("add_bos_token", false);
  if (!cj.contains("add_bos_token")) {
    const std::string post = tj.contains("post_processor") ? tj["post_processor"].dump() : "";
    add_bos = post.find("TemplateProcessing") != std::string::npos &&
              post.find("SpecialToken") != std::string::npos;
  }
  out.emplace_back("tokenizer.ggml.add_bos_token", GgufValue::boolean(add_bos));
  out.emplace_back("tokenizer.ggml.add_eos_token",
                   GgufValue::boolean(cj.value("add_eos_token", false)));
  if (cj.contains("chat_template") && cj["chat_template"].is_string())
    out.emplace_back("tokenizer.chat_template",
                     GgufValue::string(cj["chat_template"].get<std::string>()));
  return out;
}

}  // namespace fathom::tokenizer
