#include "server/model_server.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>

#include "base/logging.h"
#include "base/open_files.h"
#include "grammar/tokenizer_vocab.h"
#include "model/model.h"
#include "net/http_server.h"
#include "server/error_mapping.h"
#include "server/router.h"

namespace fathom::server {
namespace {

// Milliseconds since `t`, and moves `t` to now (one stage of the load breakdown).
double lap_ms(std::chrono::steady_clock::time_point& t) {
  const auto now = std::chrono::steady_clock::now();
  const double ms = std::chrono::duration<double, std::milli>(now - t).count();
  t = now;
  return ms;
}

Result<std::unique_ptr<LoadedModel>> load(const ServeOptions& o, const Clock& clock) {
  // Cold start: the tokenizer (parsing tokenizer.json) loads on its own thread while the
  // weights are mapped and the engine allocates its KV cache; the breakdown is logged
  // (docs/serverless.md, bench/serverless/).
  // The grammar vocabulary (structured outputs) needs the tokenizer and the config's vocab size
  // and EOS ids: that thread builds it as well when the folder has a config.json (not a GGUF).
  const auto began = std::chrono::steady_clock::now();
  Result<tokenizer::Tokenizer> tok = unavailable("tokenizer not loaded");
  double tokenizer_ms = 0, vocab_ms = 0;
  std::optional<model::ModelConfig> vocab_cfg;  // what `vocab` was built for
  Result<std::shared_ptr<const grammar::TokenVocab>> vocab = unavailable("not built");
  std::thread tokenizer_thread([&] {
    auto t = std::chrono::steady_clock::now();
    tok = tokenizer::Tokenizer::load(o.model_dir);
    tokenizer_ms = lap_ms(t);
    if (!tok.ok()) return;
    Result<model::ModelConfig> cfg = model::load_model_config(o.model_dir);
    if (!cfg.ok()) return;  // a GGUF file: built after the join
    vocab = grammar::vocab_from_tokenizer(*tok, cfg->vocab_size, cfg->eos_token_ids);
    vocab_cfg = std::move(*cfg);
    vocab_ms = lap_ms(t);
  });
  auto t = began;
  Result<std::unique_ptr<model::Model>> model = model::load_model(o.model_dir, o.load);
  const double weights_ms = lap_ms(t);
  Result<std::unique_ptr<engine::Engine>> engine =
      model.ok() ? engine::Engine::create(std::move(*model), o.engine, clock)
                 : Result<std::unique_ptr<engine::Engine>>(model.status());
  const double engine_ms = lap_ms(t);
  tokenizer_thread.join();  // before any return: the thread writes `tok`
  lap_ms(t);
  FATHOM_RETURN_IF_ERROR(tok.status());
  FATHOM_RETURN_IF_ERROR(engine.status());
  auto m = std::make_unique<LoadedModel>();
  m->tokenizer = std::make_unique<tokenizer::Tokenizer>(std::move(*tok));
  m->engine = std::move(*engine);
  m->loras = std::make_unique<model::lora::AdapterCache>(m->engine->lora_targets(), o.max_loras);
  for (const auto& [name, dir] : o.loras) {
    if (name == o.model_id)
      return invalid_argument("--lora " + name + ": the base model is served under that name");
    FATHOM_RETURN_IF_ERROR(m->loras->add(name, dir).with_context("--lora " + name + "=" + dir));
  }
  Result<tokenizer::ChatTemplate> tmpl = tokenizer::ChatTemplate::from_tokenizer(*m->tokenizer);
  if (tmpl.ok()) {
    m->chat_template = std::make_unique<tokenizer::ChatTemplate>(std::move(*tmpl));
  } else {
    FATHOM_LOG(kWarning) << "no usable chat template (" << tmpl.status().message()
                         << "); /v1/chat/completions will refuse requests";
  }
  const double template_ms = lap_ms(t);
  const model::ModelConfig& cfg = m->engine->model_config();
  if (!vocab_cfg || vocab_cfg->vocab_size != cfg.vocab_size ||
      vocab_cfg->eos_token_ids != cfg.eos_token_ids) {
    vocab = grammar::vocab_from_tokenizer(*m->tokenizer, cfg.vocab_size, cfg.eos_token_ids);
    vocab_ms = lap_ms(t);
  }
  if (vocab.ok())
    m->vocab = std::move(*vocab);
  else
    m->vocab_error = vocab.status();
  FATHOM_LOG(kInfo) << "load breakdown (ms): tokenizer " << tokenizer_ms << ", chat template "
                    << template_ms << ", model config + weights (mmap) " << weights_ms
                    << ", engine + KV cache " << engine_ms << ", grammar vocab " << vocab_ms
                    << "; total " << std::chrono::duration<double, std::milli>(t - began).count()
                    << " (tokenizer and grammar vocab in parallel with weights + engine)";
  return m;
}

std::string curl_line(const ServeOptions& o, uint16_t port) {
  std::string host = o.http.host == "0.0.0.0" ? "127.0.0.1" : o.http.host;
  std::string line = std::string(o.http.tls.enabled() ? "curl https://" : "curl http://") + host +
                     ":" + std::to_string(port) +
                     "/v1/chat/completions -H 'Content-Type: application/json'";
  if (!o.api_key.empty()) line += " -H \"Authorization: Bearer $FATHOM_API_KEY\"";  // never log the key
  line += " -d '{\"model\": \"" + o.model_id +
          "\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello!\"}], \"max_tokens\": 32}'";
  return line;
}

}  // namespace

Status run_model_server(ServeOptions options, const ServeHooks& hooks) {
  // Every thread started from here on inherits the blocked signals; only sigwait() sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  if (options.http.tls.enabled()) sigaddset(&signals, SIGHUP);  // re-reads the certificate
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  raise_open_file_limit();  // many idle or streaming clients each hold a descriptor

  SteadyClock clock;
  ServerContext ctx(options, clock);
  net::HttpServer http(options.http, make_router(ctx), &http_error_response);
  FATHOM_RETURN_IF_ERROR(http.start());
  ctx.set_http_server(&http);
  const std::string url = std::string(options.http.tls.enabled() ? "https://" : "http://") +
                          options.http.host + ":" + std::to_string(http.port());
  FATHOM_LOG(kInfo) << "listening on " << url << " (/health says 503 until the model is loaded)";

  Status load_status;
  std::thread loader([&] {
    FATHOM_LOG(kInfo) << "loading model '" << options.model_id << "' from " << options.model_dir;
    Result<std::unique_ptr<LoadedModel>> m = load(options, clock);
    if (!m.ok()) {
      load_status = m.status();
      kill(getpid(), SIGTERM);  // wakes sigwait below
      return;
    }
    ctx.publish(std::move(*m));
    FATHOM_LOG(kInfo) << "serving model '" << options.model_id << "'" << hooks.model_note << " at " << url;
    FATHOM_LOG(kInfo) << "try: " << curl_line(options, http.port());
  });

  int sig = 0;
  for (sigwait(&signals, &sig); sig == SIGHUP; sigwait(&signals, &sig)) {
    // New connections get the new certificate; open ones keep theirs. A bad file keeps the old.
    if (Status s = http.reload_tls(); s.ok())
      FATHOM_LOG(kInfo) << "SIGHUP: TLS certificate reloaded from " << options.http.tls.cert_file;
    else
      FATHOM_LOG(kError) << "SIGHUP: TLS reload failed, keeping the running certificate: "
                         << s.message();
  }
  loader.join();
  if (!load_status.ok()) {
    http.stop();
    return load_status.with_context("loading " + options.model_dir);
  }
  FATHOM_LOG(kInfo) << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ": draining (health 503, new requests 503)";
  const auto signalled = std::chrono::steady_clock::now();
  ctx.set_draining();
  if (LoadedModel* m = ctx.model()) m->engine->drain();
  // The engine is idle; let the last chunks reach their clients (bounded).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (http.num_active_exchanges() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Still answering 503 until the grace period is over (the endpoints stop routing here).
  std::this_thread::sleep_until(signalled +
                                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(options.drain_grace_s)));
  http.stop_accepting();
  http.stop();
  ctx.unpublish().reset();  // engine (and its callbacks) before the HTTP server's io_context
  FATHOM_LOG(kInfo) << "drained; bye";
  return ok_status();
}

}  // namespace fathom::server
