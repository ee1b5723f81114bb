// fathom logits --model DIR --ids 0,17,42 --out FILE.safetensors
// Writes tensor "logits" (F32, [num_ids, vocab]): row i is the prediction after ids[0..i].
#include <cstdio>

#include "cli/args.h"
#include "formats/safetensors.h"
#include "kv/block_pool.h"
#include "model/model.h"

namespace fathom::cli {
namespace {

constexpr int32_t kBlockSize = 16;

Status logits_main(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(Args args, Args::parse(argv, {"model", "ids", "out"}, {"reference"}));
  FATHOM_ASSIGN_OR_RETURN(std::string dir, args.required("model"));
  FATHOM_ASSIGN_OR_RETURN(std::string ids_text, args.required("ids"));
  FATHOM_ASSIGN_OR_RETURN(std::string out_path, args.required("out"));
  FATHOM_ASSIGN_OR_RETURN(std::vector<int32_t> ids, parse_id_list(ids_text));

  model::LoadOptions opts;
  opts.reference_kernels = args.has("reference");
  FATHOM_ASSIGN_OR_RETURN(auto m, model::load_model(dir, opts));
  const int64_t n = static_cast<int64_t>(ids.size());
  if (n > m->config().max_position_embeddings)
    return invalid_argument(std::to_string(n) + " ids exceed the context length " +
                            std::to_string(m->config().max_position_embeddings));
  const int32_t num_blocks = kv::blocks_for_tokens(n, kBlockSize);
  FATHOM_ASSIGN_OR_RETURN(auto kv, runtime::KvStorage::allocate(m->kv_layout(), num_blocks, kBlockSize));

  model::ForwardBatch b;
  b.token_ids = ids;
  for (int32_t i = 0; i < n; ++i) {
    b.positions.push_back(i);
    b.seq_idx.push_back(0);
    b.output_rows.push_back(i);
  }
  b.block_tables.emplace_back();
  for (int32_t i = 0; i < num_blocks; ++i) b.block_tables[0].push_back(i);
  std::vector<float> logits;
  FATHOM_RETURN_IF_ERROR(m->forward(b, kv, logits));
  FATHOM_RETURN_IF_ERROR(formats::write_safetensors(
      out_path, {formats::make_f32_tensor("logits", {n, m->config().vocab_size}, logits)},
      {{"model", dir}}));
  std::fprintf(stderr, "wrote logits [%lld, %lld] to %s\n", static_cast<long long>(n),
               static_cast<long long>(m->config().vocab_size), out_path.c_str());
  return ok_status();
}

}  // namespace

int run_logits(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help") {
      std::printf("usage: fathom logits --model DIR --ids 0,17,42 --out FILE.safetensors [--reference]\n"
                  "  --reference  use the scalar reference kernels (the oracle)\n");
      return 0;
    }
  }
  Status s = logits_main(argv);
  if (!s.ok()) {
    std::fprintf(stderr, "fathom logits: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace fathom::cli
