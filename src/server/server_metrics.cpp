#include "server/server_metrics.h"

#include <cstdio>
#include <sstream>

namespace fathom::server {

void ServerMetrics::count_finish(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  ++s_.requests_finished[reason];
}

void ServerMetrics::count_http_status(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++s_.http_responses[status];
}

void ServerMetrics::count_client_disconnect() {
  std::lock_guard<std::mutex> lock(mu_);
  ++s_.client_disconnects;
}

ServerMetricsSnapshot ServerMetrics::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return s_;
}

namespace {

std::string fmt(double v) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

class Writer {
 public:
  explicit Writer(std::string model) : model_label_("model_name=\"" + escape_label(model) + "\"") {}

  void header(const std::string& name, const char* type, const char* help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void sample(const std::string& name, double v, const std::string& extra_labels = "") {
    out_ << name << '{' << model_label_ << (extra_labels.empty() ? "" : ",") << extra_labels << "} " << fmt(v) << '\n';
  }
  void gauge(const std::string& name, const char* help, double v) {
    header(name, "gauge", help);
    sample(name, v);
  }
  void counter(const std::string& name, const char* help, double v) {
    header(name, "counter", help);
    sample(name, v);
  }
  void labelled_counter(const std::string& name, const char* help, const std::string& label,
                        const std::map<std::string, int64_t>& values) {
    header(name, "counter", help);
    for (const auto& [k, v] : values) sample(name, static_cast<double>(v), label + "=\"" + escape_label(k) + "\"");
  }
  void histogram(const std::string& name, const char* help, const HistogramSnapshot& h) {
    header(name, "histogram", help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.upper_bounds.size(); ++i) {
      if (i < h.bucket_counts.size()) cumulative += h.bucket_counts[i];
      sample(name + "_bucket", static_cast<double>(cumulative), "le=\"" + fmt(h.upper_bounds[i]) + "\"");
    }
    if (h.bucket_counts.size() > h.upper_bounds.size()) cumulative += h.bucket_counts.back();
    sample(name + "_bucket", static_cast<double>(cumulative), "le=\"+Inf\"");
    sample(name + "_sum", h.sum);
    sample(name + "_count", static_cast<double>(h.count));
  }
  std::string str() const { return out_.str(); }

 private:
  std::string model_label_;
  std::ostringstream out_;
};

// Speculative decoding, under vLLM's names (vllm:spec_decode_*) with either prefix.
void render_spec_decode(Writer& w, const engine::spec::SpecStats& s, const std::string& p,
                        bool vllm) {
  w.counter(p + "spec_decode_num_drafts_total",
            "Verification steps of a sequence with draft tokens.",
            static_cast<double>(s.num_drafts));
  w.counter(p + "spec_decode_num_draft_tokens_total", "Draft tokens verified.",
            static_cast<double>(s.num_draft_tokens));
  w.counter(p + "spec_decode_num_accepted_tokens_total", "Draft tokens accepted.",
            static_cast<double>(s.num_accepted_tokens));
  std::map<std::string, int64_t> per_pos;
  for (size_t i = 0; i < s.accepted_per_pos.size(); ++i)
    per_pos[std::to_string(i)] = s.accepted_per_pos[i];
  w.labelled_counter(p + "spec_decode_num_accepted_tokens_per_pos_total",
                     "Draft tokens accepted, by position in the draft (0 = first).", "position",
                     per_pos);
  if (!vllm)
    w.gauge(p + "spec_decode_acceptance_ratio", "Accepted over verified draft tokens since start.",
            s.num_draft_tokens > 0 ? static_cast<double>(s.num_accepted_tokens) /
                                         static_cast<double>(s.num_draft_tokens)
                                   : 0.0);
}

void render_engine(Writer& w, const engine::EngineStats& e, const char* prefix, bool vllm) {  // NOLINT
  const std::string p = prefix;
  w.gauge(p + "num_requests_running", "Requests being generated.", static_cast<double>(e.num_running));
  w.gauge(p + "num_requests_waiting", "Requests waiting for the scheduler.", static_cast<double>(e.num_waiting));
  w.gauge(p + (vllm ? "kv_cache_usage_perc" : "kv_cache_usage_ratio"),
          "Fraction of KV cache blocks in use (1 = full).", e.kv_cache_usage);
  if (!vllm) {
    w.gauge(p + "kv_cache_blocks", "KV cache blocks in total.", e.num_kv_blocks);
    w.gauge(p + "kv_cache_free_blocks", "KV cache blocks free or evictable.", e.num_free_kv_blocks);
  }
  w.counter(p + "prefix_cache_queries" + (vllm ? "_total" : "_tokens_total"),
            "Prompt tokens looked up in the prefix cache.", static_cast<double>(e.prefix_cache_queries));
  w.counter(p + "prefix_cache_hits" + (vllm ? "_total" : "_tokens_total"),
            "Prompt tokens served from the prefix cache.", static_cast<double>(e.prefix_cache_hits));
  w.counter(p + "num_preemptions_total", "Requests preempted under KV cache pressure.",
            static_cast<double>(e.num_preemptions));
  w.counter(p + "prompt_tokens_total", "Prompt tokens processed.", static_cast<double>(e.prompt_tokens_total));
  w.counter(p + "generation_tokens_total", "Tokens generated.", static_cast<double>(e.generation_tokens_total));
  render_spec_decode(w, e.spec, p, vllm);
  w.histogram(p + "time_to_first_token_seconds", "Time from arrival to the first generated token.",
              e.time_to_first_token_s);
  w.histogram(p + "inter_token_latency_seconds",
              "Time between consecutive generated tokens.", e.inter_token_latency_s);
  w.histogram(p + "e2e_request_latency_seconds", "Time from arrival to the last token.", e.e2e_latency_s);
  w.histogram(p + "request_queue_time_seconds", "Time spent waiting before the first schedule.", e.queue_time_s);
}

}  // namespace

std::string render_metrics(const engine::EngineStats* engine, const ServerMetricsSnapshot& server,
                           const std::string& model_name, MetricsNames names,
                           const LoraRequestsInfo* lora) {
  Writer w(model_name);
  w.gauge("fathom_model_loaded", "1 once the model is loaded and serving.", engine ? 1 : 0);
  if (engine) {
    render_engine(w, *engine, "fathom_", false);
    w.labelled_counter("fathom_engine_requests_finished_total", "Engine requests finished, by engine finish reason.",
                       "finished_reason", engine->requests_finished);
    const model::StepProfile& prof = engine->step_profile;
    w.counter("fathom_engine_forward_seconds_total", "Time in the model's forward passes.",
              static_cast<double>(prof.forward_ns) / 1e9);
    w.header("fathom_engine_op_seconds_total", "counter", "Forward time by op (the step profile).");
    for (int i = 0; i < model::kNumOps; ++i) {
      const auto op = static_cast<model::Op>(i);
      w.sample("fathom_engine_op_seconds_total", static_cast<double>(prof[op].ns) / 1e9,
               std::string("op=\"") + model::op_name(op) + "\"");
    }
  }
  w.labelled_counter("fathom_requests_finished_total", "Choices finished, by the finish reason the client saw.",
                     "finished_reason", server.requests_finished);
  std::map<std::string, int64_t> by_code;
  for (const auto& [code, n] : server.http_responses) by_code[std::to_string(code)] = n;
  w.labelled_counter("fathom_http_responses_total", "HTTP responses by status code.", "code", by_code);
  w.counter("fathom_client_disconnects_total", "Requests cancelled because the client went away.",
            static_cast<double>(server.client_disconnects));
  w.gauge("fathom_http_active_requests", "HTTP requests being answered.", static_cast<double>(server.active_exchanges));
  w.gauge("fathom_http_open_connections", "Open client connections.", static_cast<double>(server.open_connections));
  if (lora && engine) {
    auto joined = [](const std::vector<std::string>& list) {
      std::string s;
      for (const std::string& n : list) s += (s.empty() ? "" : ",") + n;
      return escape_label(s);
    };
    w.header("vllm:lora_requests_info", "gauge", "Running stats on lora requests.");
    w.sample("vllm:lora_requests_info", lora->timestamp_s,
             "max_lora=\"" + std::to_string(lora->max_lora) + "\",running_lora_adapters=\"" +
                 joined(engine->running_lora_adapters) + "\",waiting_lora_adapters=\"" +
                 joined(engine->waiting_lora_adapters) + "\"");
  }
  if (names == MetricsNames::kFathomAndVllm && engine) {
    render_engine(w, *engine, "vllm:", true);
    w.labelled_counter("vllm:request_success_total", "Requests finished, by finish reason.", "finished_reason",
                       server.requests_finished);
  }
  return w.str();
}

}  // namespace fathom::server
