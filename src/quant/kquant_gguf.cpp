#include "quant/kquant_gguf.h"

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>

#include "formats/checkpoint.h"
#include "model/config.h"
#include "model/model.h"
#include "quant/linear_targets.h"
#include "quant/window_forward.h"
#include "tokenizer/gguf_vocab.h"

namespace fathom::quant {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// What llama_tensor_get_type reads of the model, from its config.
KQuantModelInfo model_info(const model::ModelConfig& c) {
  KQuantModelInfo info;
  info.arch = c.architecture == "LlamaForCausalLM"   ? "llama"
              : c.architecture == "Qwen2ForCausalLM" ? "qwen2"
                                                     : "deepseek2";
  info.n_layer = c.num_layers;
  info.has_output = !c.tie_word_embeddings;
  if (c.family == model::ArchFamily::kDense) {
    info.n_attention_wv = c.num_layers;  // one attn_v per layer
  } else {
    info.n_expert = c.moe.num_routed_experts;  // MLA has no attn_v (kv_b is split at export)
  }
  return info;
}

// llama.h's enum llama_ftype.
uint32_t llama_ftype(KQuantMix m) {
  switch (m) {
    case KQuantMix::kQ4_K_M:
      return 15;
    case KQuantMix::kQ5_K_M:
      return 17;
    case KQuantMix::kQ6_K:
      return 18;
    case KQuantMix::kQ8_0:
      return 7;
  }
  return 0;
}

}  // namespace

Result<std::vector<std::pair<std::string, formats::GgufValue>>> gguf_tokenizer_keys(
    const std::string& model_dir, std::FILE* warn, const char* tool) {
  const std::string tok = read_text(model_dir + "/tokenizer.json");
  if (tok.empty()) {  // weights only: fine for logits and benchmarks, not for serving
    if (warn)
      std::fprintf(warn, "fathom %s: %s/tokenizer.json is missing: no tokenizer in the GGUF\n",
                   tool, model_dir.c_str());
    return std::vector<std::pair<std::string, formats::GgufValue>>{};
  }
  return tokenizer::gguf_tokenizer_metadata(tok, read_text(model_dir + "/tokenizer_config.json"));
}

Imatrix imatrix_from_sums(const ChannelNormCollector& sums,
                          const std::vector<std::string>& hf_prefixes, int32_t chunks,
                          const std::string& dataset) {
  Imatrix m;
  m.chunks = chunks;
  m.dataset = dataset;
  for (const std::string& prefix : hf_prefixes) {
    const std::string name = gguf_linear_name(prefix);
    const ChannelNormCollector::Sums* s = sums.sums(input_key(prefix));
    if (name.empty() || !s) continue;
    ImatrixEntry e;
    e.ncall = s->calls;
    for (double v : s->sum_sq)
      e.values.push_back(static_cast<float>(v / static_cast<double>(s->rows)));
    m.entries.emplace(name, std::move(e));
  }
  return m;
}

Result<Imatrix> compute_imatrix(const std::string& model_dir, const ImatrixOptions& o) {
  const auto windows = split_windows(o.tokens, o.ctx, o.samples);
  if (windows.empty())
    return invalid_argument("--calibration: " + std::to_string(o.tokens.size()) +
                            " tokens do not fill one window of --ctx " + std::to_string(o.ctx));
  FATHOM_ASSIGN_OR_RETURN(formats::Checkpoint ck, formats::Checkpoint::open(model_dir));
  FATHOM_ASSIGN_OR_RETURN(std::vector<LinearTarget> targets, find_linear_targets(ck));
  FATHOM_ASSIGN_OR_RETURN(auto m, model::load_model(model_dir));
  ChannelNormCollector collector;
  FATHOM_RETURN_IF_ERROR(run_calibration(
      *m, windows,
      [&](const std::string& prefix, const float* x, int64_t rows, int64_t cols) {
        collector.observe(prefix, x, rows, cols);
      },
      o.progress, "imatrix"));
  std::vector<std::string> prefixes;
  for (const LinearTarget& t : targets) prefixes.push_back(t.prefix);
  Imatrix im =
      imatrix_from_sums(collector, prefixes, static_cast<int32_t>(windows.size()), o.dataset);
  if (im.entries.empty())
    return invalid_argument("--calibration: no linear layer of " + model_dir +
                            " has a GGUF name to store an importance row under");
  return im;
}

Result<model::GgufExportSummary> quantize_kquant_gguf(const std::string& model_dir,
                                                      const std::string& out_path,
                                                      const KQuantOptions& o) {
  FATHOM_ASSIGN_OR_RETURN(model::ModelConfig c, model::load_model_config(model_dir));
  model::GgufExportOptions ex;
  FATHOM_ASSIGN_OR_RETURN(ex.extra_metadata, gguf_tokenizer_keys(model_dir, stderr, "quantize"));
  // llama-quantize's keys: the ftype (llama_ftype numbers), and where an imatrix was used.
  ex.extra_metadata.emplace_back("general.quantization_version", formats::GgufValue::u32(2));
  ex.extra_metadata.emplace_back("general.file_type", formats::GgufValue::u32(llama_ftype(o.mix)));
  if (o.imatrix) {
    ex.extra_metadata.emplace_back("quantize.imatrix.dataset",
                                   formats::GgufValue::string(o.imatrix->dataset));
    ex.extra_metadata.emplace_back(
        "quantize.imatrix.entries_count",
        formats::GgufValue::i32(static_cast<int32_t>(o.imatrix->entries.size())));
    ex.extra_metadata.emplace_back("quantize.imatrix.chunks_count",
                                   formats::GgufValue::i32(o.imatrix->chunks));
  }
  auto planner = std::make_shared<KQuantMixPlanner>(o.mix, model_info(c));
  ex.type_for = [planner](const std::string& name, const std::vector<int64_t>& dims) {
    return planner->type_for(name, dims);
  };
  ex.kquant_search = true;
  std::map<std::string, std::vector<float>> importance;
  if (o.imatrix) {
    FATHOM_ASSIGN_OR_RETURN(formats::Checkpoint ck, formats::Checkpoint::open(model_dir));
    FATHOM_ASSIGN_OR_RETURN(std::vector<LinearTarget> targets, find_linear_targets(ck));
    std::set<std::string> names;
    for (const LinearTarget& t : targets) names.insert(gguf_linear_name(t.prefix));
    for (const auto& [name, e] : o.imatrix->entries)
      if (names.count(name)) importance[name] = e.values;
    if (importance.empty())
      return invalid_argument("--imatrix: none of its " +
                              std::to_string(o.imatrix->entries.size()) +
                              " entries names a linear weight of " + model_dir);
    ex.importance = &importance;
  }
  return model::export_gguf(model_dir, out_path, ex);
}

}  // namespace fathom::quant
