// fathom serve [--model DIR] [--host 127.0.0.1] [--port 8000] [--api-key KEY] ...
// The OpenAI-compatible model server (see src/server). Without --model it serves the built-in
// tiny DeepSeek-V3-shaped model, whose weights are random.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <thread>

#include "base/logging.h"
#include "cli/args.h"
#include "engine/spec/spec_config.h"
#include "server/model_server.h"

#ifndef FATHOM_SOURCE_DIR
#define FATHOM_SOURCE_DIR ""
#endif

namespace fathom::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultModelName = "fathom-tiny-random-deepseek-v3";

// The built-in model: next to the source tree it was built from, or relative to the binary
// (build/<preset>/bin/fathom in a checkout; <prefix>/bin/fathom with <prefix>/share/fathom/models).
Result<std::string> find_default_model() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("FATHOM_DEFAULT_MODEL_DIR")) candidates.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path bin = exe.parent_path();
    candidates.push_back(bin / "../share/fathom/models" / kDefaultModelName);
    candidates.push_back(bin / "../../../models" / kDefaultModelName);
    candidates.push_back(bin / "../../models" / kDefaultModelName);
  }
  if (std::string(FATHOM_SOURCE_DIR).size()) candidates.push_back(fs::path(FATHOM_SOURCE_DIR) / "models" / kDefaultModelName);
  for (const fs::path& p : candidates)
    if (fs::exists(p / "config.json", ec)) return fs::weakly_canonical(p, ec).string();
  return not_found(std::string("no --model given and the built-in model ") + kDefaultModelName +
                   " was not found (looked next to the binary and in the source tree); pass --model DIR");
}

void print_help() {
  std::printf(
      "usage: fathom serve [--model DIR] [--host 127.0.0.1] [--port 8000] [--api-key KEY]\n"
      "                    [--served-model-name NAME] [--metrics-names fathom|vllm]\n"
      "                    [--max-model-len N] [--max-num-seqs N] [--max-num-batched-tokens N]\n"
      "                    [--max-waiting N] [--block-size N] [--kv-cache-mb N] "
      "[--no-prefix-caching]\n"
      "                    [--kv-cache-dtype auto|float32|bf16|fp8]   (auto: bf16 for a bf16\n"
      "                    checkpoint, float32 otherwise; fp8 is e4m3, a quarter of float32)\n"
      "                    [--io-threads N] [--max-body-mb N] [--reasoning-parser "
      "deepseek_r1|none]\n"
      "                    [--tool-call-parser deepseek_v3|none] [--log-level "
      "debug|info|warning|error]\n"
      "                    [--allowed-origins ORIGIN,...|*]   (CORS for browser clients)\n"
      "                    [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]\n"
      "                    [--quantization auto|none|int8|int4|fp8]   (quantize a float\n"
      "                    checkpoint at load; auto keeps what the checkpoint has)\n"
      "                    [--activations exact|reduced]   (reduced: the linear kernels may\n"
      "                    round activations to bf16 or int8 as llama.cpp does; faster)\n"
      "                    [--speculative off|ngram|mtp] [--num-speculative-tokens K]\n"
      "                    [--prompt-lookup-min N] [--prompt-lookup-max N]   (speculative\n"
      "                    decoding: prompt lookup or DeepSeek-V3's MTP layer drafts K tokens\n"
      "                    a step; docs/speculative.md)\n"
      "                    [--profile]   (log the forward time per op every 10 s of serving;\n"
      "                    /metrics has it as fathom_engine_op_seconds_total always)\n"
      "                    [--no-prefault]   (map weight pages lazily on first use instead of\n"
      "                    at load)\n"
      "                    [--no-huge-pages]   (keep reading weights from the file mapping\n"
      "                    instead of copying them into huge pages in the background after\n"
      "                    the load: shares the page cache, costs decode speed)\n"
      "                    [--no-bf16-pack]   (on AVX2 / AVX-512 BF16 CPUs, decode reads bf16\n"
      "                    weights as stored instead of a copy packed\n"
      "                    losslessly into 12 bits per value, and with --activations\n"
      "                    reduced batches and prefill read them instead of a copy\n"
      "                    interleaved into their kernel's tiles, both made in the\n"
      "                    background: saves those copies' memory, costs speed)\n"
      "                    [--no-int4-panel]   (on AVX-512 VNNI CPUs with --activations\n"
      "                    reduced, int4 weights are read as stored instead of a copy\n"
      "                    interleaved into their kernel's tiles, made in the background:\n"
      "                    saves the int4 weights' size in memory, costs speed)\n"
      "                    [--no-weight-cache]   (quantize / repack at every start instead of\n"
      "                    mapping the cache file kept beside the checkpoint, or under\n"
      "                    $FATHOM_CACHE_DIR or ~/.cache/fathom when its folder is read-only)\n"
      "                    (https; SIGHUP re-reads them; a client CA requires client certs)\n"
      "                    [--lora NAME=DIR ...] [--max-loras N] [--allow-runtime-lora]\n"
      "                    (PEFT LoRA adapters, selected by the request's model; at most N\n"
      "                    in memory, LRU; POST /v1/load_lora_adapter and unload_lora_adapter\n"
      "                    with --allow-runtime-lora or VLLM_ALLOW_RUNTIME_LORA_UPDATING=true)\n"
      "                    [--drain-grace-s S]   (after SIGTERM keep answering 503 for at least\n"
      "                    S seconds before closing the port, so load balancers stop routing\n"
      "                    here first; in-flight requests finish either way)\n"
      "\n"
      "OpenAI-compatible endpoints: POST /v1/chat/completions, POST /v1/completions,\n"
      "POST /v1/responses, GET /v1/models[/{id}], POST /tokenize, POST /detokenize, GET /health,\n"
      "GET /metrics, POST /v1/load_lora_adapter, POST /v1/unload_lora_adapter. Without --model\n"
      "the built-in %s (RANDOM weights: its output is gibberish) is served. The API key may\n"
      "also come from FATHOM_API_KEY. SIGTERM or SIGINT drains in-flight requests, then exits 0.\n",
      kDefaultModelName);
}

Status parse_spec_flags(const Args& args, engine::spec::SpecConfig& c) {
  FATHOM_ASSIGN_OR_RETURN(c.method,
                          engine::spec::parse_spec_method(args.get_or("speculative", "off")));
  FATHOM_ASSIGN_OR_RETURN(int64_t k,
                          args.get_int("num-speculative-tokens", c.num_speculative_tokens));
  FATHOM_ASSIGN_OR_RETURN(int64_t lo, args.get_int("prompt-lookup-min", c.prompt_lookup_min));
  FATHOM_ASSIGN_OR_RETURN(int64_t hi, args.get_int("prompt-lookup-max", c.prompt_lookup_max));
  if (k < 0 || k > 1000 || lo < 0 || lo > 1000 || hi < 0 || hi > 1000)
    return invalid_argument(
        "--num-speculative-tokens, --prompt-lookup-min and --prompt-lookup-max must be in [0, "
        "1000]");
  c.num_speculative_tokens = static_cast<int32_t>(k);
  c.prompt_lookup_min = static_cast<int32_t>(lo);
  c.prompt_lookup_max = static_cast<int32_t>(hi);
  return engine::spec::validate(c);
}

Status serve_main(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(Args args, Args::parse(argv,
                                                 {"model",
                                                  "host",
                                                  "port",
                                                  "api-key",
                                                  "served-model-name",
                                                  "metrics-names",
                                                  "max-model-len",
                                                  "max-num-seqs",
                                                  "max-num-batched-tokens",
                                                  "max-waiting",
                                                  "block-size",
                                                  "kv-cache-mb",
                                                  "kv-cache-dtype",
                                                  "io-threads",
                                                  "max-body-mb",
                                                  "reasoning-parser",
                                                  "tool-call-parser",
                                                  "log-level",
                                                  "allowed-origins",
                                                  "tls-cert",
                                                  "tls-key",
                                                  "tls-client-ca",
                                                  "quantization",
                                                  "activations",
                                                  "speculative",
                                                  "num-speculative-tokens",
                                                  "prompt-lookup-min",
                                                  "prompt-lookup-max",
                                                  "lora",
                                                  "max-loras",
                                                  "drain-grace-s"},
                                                 {"no-prefix-caching", "profile", "no-prefault",
                                                  "no-huge-pages", "no-bf16-pack", "no-int4-panel",
                                                  "no-weight-cache", "allow-runtime-lora"}));
  if (!args.positional().empty()) return invalid_argument("unexpected argument '" + args.positional()[0] + "'");
  server::ServeOptions o;
  server::ServeHooks hooks;
  if (auto dir = args.get("model")) {
    o.model_dir = *dir;
  } else {
    FATHOM_ASSIGN_OR_RETURN(o.model_dir, find_default_model());
    hooks.model_note = " (built-in tiny model with RANDOM weights: its output is gibberish; pass --model DIR for a real model)";
  }
  std::string base = fs::path(o.model_dir).lexically_normal().filename().string();
  if (base.empty()) base = fs::path(o.model_dir).lexically_normal().parent_path().filename().string();
  o.model_id = args.get_or("served-model-name", args.has("model") ? base : kDefaultModelName);
  o.api_key = args.get_or("api-key", std::getenv("FATHOM_API_KEY") ? std::getenv("FATHOM_API_KEY") : "");

  const std::string names = args.get_or("metrics-names", "fathom");
  if (names == "vllm") o.metrics_names = server::MetricsNames::kFathomAndVllm;
  else if (names != "fathom") return invalid_argument("--metrics-names: expected fathom or vllm, got '" + names + "'");
  const std::string reasoning = args.get_or("reasoning-parser", "none");
  if (reasoning != "none" && reasoning != "deepseek_r1")
    return invalid_argument("--reasoning-parser: expected deepseek_r1 or none, got '" + reasoning + "'");
  o.reasoning_parser = reasoning == "deepseek_r1";
  const std::string tools = args.get_or("tool-call-parser", "deepseek_v3");
  if (tools != "none" && tools != "deepseek_v3")
    return invalid_argument("--tool-call-parser: expected deepseek_v3 or none, got '" + tools + "'");
  o.tool_call_parser = tools == "deepseek_v3";
  if (args.has("profile")) o.engine.profile_log_interval_s = 10;
  o.load.prefault = !args.has("no-prefault");
  o.load.huge_pages = args.has("no-huge-pages") ? model::LoadOptions::When::kOff
                                                : model::LoadOptions::When::kBackground;
  o.load.pack_bf16 = args.has("no-bf16-pack") ? model::LoadOptions::When::kOff
                                              : model::LoadOptions::When::kBackground;
  o.load.int4_panels = args.has("no-int4-panel") ? model::LoadOptions::When::kOff
                                                 : model::LoadOptions::When::kBackground;
  o.load.weight_cache = !args.has("no-weight-cache");
  FATHOM_ASSIGN_OR_RETURN(o.load.quantization,
                          model::parse_quantization(args.get_or("quantization", "auto")));
  FATHOM_ASSIGN_OR_RETURN(o.load.activations,
                          model::parse_activation_precision(args.get_or("activations", "exact")));
  const std::string level = args.get_or("log-level", "info");
  if (level == "debug") set_log_level(LogLevel::kDebug);
  else if (level == "info") set_log_level(LogLevel::kInfo);
  else if (level == "warning") set_log_level(LogLevel::kWarning);
  else if (level == "error") set_log_level(LogLevel::kError);
  else return invalid_argument("--log-level: expected debug, info, warning or error");

  o.http.host = args.get_or("host", "127.0.0.1");
  FATHOM_ASSIGN_OR_RETURN(int64_t port, args.get_int("port", 8000));
  if (port < 0 || port > 65535) return invalid_argument("--port must be in [0, 65535]");
  o.http.port = static_cast<uint16_t>(port);
  FATHOM_ASSIGN_OR_RETURN(int64_t io_threads, args.get_int("io-threads", 2));
  if (io_threads < 1 || io_threads > 256) return invalid_argument("--io-threads must be in [1, 256]");
  o.http.num_io_threads = static_cast<int>(io_threads);
  FATHOM_ASSIGN_OR_RETURN(int64_t body_mb, args.get_int("max-body-mb", 8));
  if (body_mb < 1) return invalid_argument("--max-body-mb must be at least 1");
  o.http.max_body_bytes = body_mb << 20;
  o.http.request_ids = true;
  o.http.tls = {args.get_or("tls-cert", ""), args.get_or("tls-key", ""),
                args.get_or("tls-client-ca", "")};
  if (o.http.tls.cert_file.empty() != o.http.tls.key_file.empty())
    return invalid_argument("--tls-cert and --tls-key go together");
  if (!o.http.tls.client_ca_file.empty() && o.http.tls.cert_file.empty())
    return invalid_argument("--tls-client-ca needs --tls-cert and --tls-key");
  const std::string origins = args.get_or("allowed-origins", "");
  for (std::string_view rest = origins; !rest.empty();) {
    const size_t comma = rest.find(',');
    if (std::string_view origin = rest.substr(0, comma); !origin.empty()) o.http.cors_allowed_origins.emplace_back(origin);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }

  engine::EngineConfig& e = o.engine;
  FATHOM_ASSIGN_OR_RETURN(e.max_model_len, args.get_int("max-model-len", 0));
  FATHOM_ASSIGN_OR_RETURN(int64_t seqs, args.get_int("max-num-seqs", e.max_num_seqs));
  e.max_num_seqs = static_cast<int32_t>(seqs);
  FATHOM_ASSIGN_OR_RETURN(e.max_num_batched_tokens, args.get_int("max-num-batched-tokens", e.max_num_batched_tokens));
  FATHOM_ASSIGN_OR_RETURN(int64_t waiting, args.get_int("max-waiting", e.max_waiting));
  e.max_waiting = static_cast<int32_t>(waiting);
  FATHOM_ASSIGN_OR_RETURN(int64_t block, args.get_int("block-size", e.block_size));
  e.block_size = static_cast<int32_t>(block);
  FATHOM_ASSIGN_OR_RETURN(int64_t kv_mb, args.get_int("kv-cache-mb", e.kv_cache_bytes >> 20));
  if (kv_mb < 1) return invalid_argument("--kv-cache-mb must be at least 1");
  e.kv_cache_bytes = kv_mb << 20;
  FATHOM_ASSIGN_OR_RETURN(e.kv_cache_dtype,
                          model::parse_kv_cache_dtype(args.get_or("kv-cache-dtype", "auto")));
  e.enable_prefix_caching = !args.has("no-prefix-caching");
  if (e.max_num_seqs < 1 || e.max_num_batched_tokens < 1 || e.max_waiting < 0 || e.block_size < 1)
    return invalid_argument("--max-num-seqs, --max-num-batched-tokens and --block-size must be positive");
  FATHOM_RETURN_IF_ERROR(parse_spec_flags(args, e.spec));
  o.load.load_mtp = e.spec.method == engine::spec::SpecMethod::kMtp;

  for (const std::string& spec : args.get_all("lora")) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      return invalid_argument("--lora: expected NAME=DIR, got '" + spec + "'");
    o.loras.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
  }
  FATHOM_ASSIGN_OR_RETURN(int64_t max_loras, args.get_int("max-loras", o.max_loras));
  if (max_loras < 1 || max_loras > 4096)
    return invalid_argument("--max-loras must be in [1, 4096]");
  if (max_loras < static_cast<int64_t>(o.loras.size()))
    return invalid_argument("--max-loras " + std::to_string(max_loras) + " is less than the " +
                            std::to_string(o.loras.size()) + " adapters given with --lora");
  o.max_loras = static_cast<int32_t>(max_loras);
  FATHOM_ASSIGN_OR_RETURN(o.drain_grace_s, args.get_double("drain-grace-s", 0));
  if (!(o.drain_grace_s >= 0 && o.drain_grace_s <= 3600))
    return invalid_argument("--drain-grace-s must be in [0, 3600]");
  const std::string runtime_env = std::getenv("VLLM_ALLOW_RUNTIME_LORA_UPDATING")
                                      ? std::getenv("VLLM_ALLOW_RUNTIME_LORA_UPDATING")
                                      : "";
  o.allow_runtime_lora = args.has("allow-runtime-lora") || runtime_env == "true" ||
                         runtime_env == "True" || runtime_env == "1";

  if (!args.has("model"))
    FATHOM_LOG(kWarning) << "no --model: serving the built-in " << kDefaultModelName
                         << " from " << o.model_dir << "; its weights are RANDOM, so its answers are gibberish";
  return server::run_model_server(std::move(o), hooks);
}

}  // namespace

int run_serve(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help" || a == "-h") {
      print_help();
      return 0;
    }
  }
  Status s = serve_main(argv);
  if (!s.ok()) {
    std::fprintf(stderr, "fathom serve: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace fathom::cli
