#include "server/model_server.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/logging.h"
#include "grammar/tokenizer_vocab.h"
#include "model/model.h"
#include "net/http_server.h"
#include "server/error_mapping.h"
#include "server/router.h"

namespace fathom::server {
namespace {

Result<std::unique_ptr<LoadedModel>> load(const ServeOptions& o, const Clock& clock) {
  auto m = std::make_unique<LoadedModel>();
  FATHOM_ASSIGN_OR_RETURN(tokenizer::Tokenizer tok, tokenizer::Tokenizer::load(o.model_dir));
  m->tokenizer = std::make_unique<tokenizer::Tokenizer>(std::move(tok));
  Result<tokenizer::ChatTemplate> tmpl = tokenizer::ChatTemplate::from_tokenizer(*m->tokenizer);
  if (tmpl.ok()) {
    m->chat_template = std::make_unique<tokenizer::ChatTemplate>(std::move(*tmpl));
  } else {
    FATHOM_LOG(kWarning) << "no usable chat template (" << tmpl.status().message()
                         << "); /v1/chat/completions will refuse requests";
  }
  FATHOM_ASSIGN_OR_RETURN(auto model, model::load_model(o.model_dir, o.load));
  FATHOM_ASSIGN_OR_RETURN(m->engine, engine::Engine::create(std::move(model), o.engine, clock));
  const model::ModelConfig& cfg = m->engine->model_config();
  Result<std::shared_ptr<const grammar::TokenVocab>> vocab =
      grammar::vocab_from_tokenizer(*m->tokenizer, cfg.vocab_size, cfg.eos_token_ids);
  if (vocab.ok())
    m->vocab = std::move(*vocab);
  else
    m->vocab_error = vocab.status();
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

  // Many idle or streaming clients each hold a descriptor: allow as many as the hard limit.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

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
  ctx.set_draining();
  if (LoadedModel* m = ctx.model()) m->engine->drain();
  // The engine is idle; let the last chunks reach their clients (bounded).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (http.num_active_exchanges() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  http.stop_accepting();
  http.stop();
  ctx.unpublish().reset();  // engine (and its callbacks) before the HTTP server's io_context
  FATHOM_LOG(kInfo) << "drained; bye";
  return ok_status();
}

}  // namespace fathom::server
