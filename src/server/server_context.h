// What every route reads: the engine, tokenizer and chat template once the model is loaded,
// the served model id, options, and the HTTP-side metrics. Routes run on I/O threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "engine/engine.h"
#include "grammar/token_vocab.h"
#include "model/lora/adapter_cache.h"
#include "net/http_server.h"
#include "server/server_metrics.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace fathom::server {

struct ServeOptions {
  std::string model_dir;
  std::string model_id;  ///< the name clients send as "model"
  std::string api_key;   ///< empty: no authentication
  MetricsNames metrics_names = MetricsNames::kFathom;
  bool reasoning_parser = false;   ///< --reasoning-parser deepseek_r1
  bool tool_call_parser = true;    ///< --tool-call-parser deepseek_v3 (the default) or none
  model::LoadOptions load;         ///< --quantization
  std::vector<std::pair<std::string, std::string>> loras;  ///< --lora NAME=DIR, loaded at start
  int32_t max_loras = 8;            ///< --max-loras: adapters held in memory (LRU beyond)
  bool allow_runtime_lora = false;  ///< --allow-runtime-lora: the load/unload routes answer
  /// --drain-grace-s: after SIGTERM, keep listening (health 503, new requests 503) at least this
  /// long, so load balancers and Kubernetes endpoints stop routing here before the port closes.
  double drain_grace_s = 0;
  engine::EngineConfig engine;
  net::HttpServerOptions http;
};

/// The loaded model's pieces. Published once, then read-only.
struct LoadedModel {
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  std::unique_ptr<tokenizer::ChatTemplate> chat_template;  ///< null when the model has none
  std::unique_ptr<engine::Engine> engine;
  /// The LoRA adapters served over the base model (registered by name, LRU in memory).
  std::unique_ptr<model::lora::AdapterCache> loras;
  /// The vocabulary structured outputs constrain; null (with the reason) when the tokenizer
  /// cannot give each token's bytes.
  std::shared_ptr<const grammar::TokenVocab> vocab;
  Status vocab_error;
};

class ServerContext {
 public:
  ServerContext(ServeOptions options, const Clock& clock) : options_(std::move(options)), clock_(clock) {}

  const ServeOptions& options() const { return options_; }
  const Clock& clock() const { return clock_; }
  ServerMetrics& metrics() { return metrics_; }

  /// Null until the model is loaded.
  LoadedModel* model() const { return ready_.load(std::memory_order_acquire) ? model_.get() : nullptr; }
  void publish(std::unique_ptr<LoadedModel> m) {
    model_ = std::move(m);
    ready_.store(true, std::memory_order_release);
  }
  /// Engine teardown at exit (after drain): routes see "not loaded" again.
  std::unique_ptr<LoadedModel> unpublish() {
    ready_.store(false, std::memory_order_release);
    return std::move(model_);
  }

  bool draining() const { return draining_.load(); }
  void set_draining() { draining_.store(true); }

  /// "prefix-<unique>" ids for responses and engine requests.
  std::string next_id(const std::string& prefix);

  /// For /metrics: the HTTP server's live counts (null before it starts).
  void set_http_server(const net::HttpServer* s) { http_ = s; }
  const net::HttpServer* http_server() const { return http_; }

 private:
  ServeOptions options_;
  const Clock& clock_;
  ServerMetrics metrics_;
  std::unique_ptr<LoadedModel> model_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
  std::atomic<uint64_t> next_id_{1};
  const net::HttpServer* http_ = nullptr;
};

}  // namespace fathom::server
