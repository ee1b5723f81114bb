// fathom gateway --config gateway.yaml
// Runs the API gateway until SIGTERM/SIGINT; SIGHUP reloads the config without dropping
// connections and re-reads the listener's TLS certificate and key (the listen address and the
// TLS file names need a restart).
// fathom gateway --check-config --config gateway.yaml
// Parses and validates the config with the loader the gateway starts with, prints OK or every
// problem, exits 0 or 1; listens on nothing and opens no database (deploy/k8s tests, CI).
#include <signal.h>

#include <cstdio>

#include "base/logging.h"
#include "base/open_files.h"
#include "cli/args.h"
#include "gateway/gateway_service.h"

namespace fathom::cli {
namespace {

Status gateway_main(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(Args args,
                          Args::parse(argv, {"config", "port"}, {"check-config", "test-clock"}));
  FATHOM_ASSIGN_OR_RETURN(std::string path, args.required("config"));
  FATHOM_ASSIGN_OR_RETURN(auto cfg, gateway::load_gateway_config(path));
  if (args.has("check-config")) {
    std::printf("OK %s\n", path.c_str());
    return ok_status();
  }
  FATHOM_ASSIGN_OR_RETURN(int64_t port, args.get_int("port", cfg.port));
  cfg.port = static_cast<uint16_t>(port);
  raise_open_file_limit();  // a stream holds two descriptors: its client's and its upstream's

  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  static SteadyClock clock;
  // --test-clock (end-to-end tests only): the serverless autoscalers and prewarm schedules run on
  // a clock that starts now and moves only through POST /admin/test/clock.
  static FakeClock test_clock(clock.now(), clock.wall_now());
  gateway::ServerlessClocks serverless;
  if (args.has("test-clock")) {
    serverless.test_clock = &test_clock;
    FATHOM_LOG(kWarning)
        << "--test-clock: serverless scaling follows POST /admin/test/clock, not real time";
  }
  FATHOM_ASSIGN_OR_RETURN(auto service, gateway::GatewayService::create(cfg, clock, serverless));
  service->set_config_path(path);
  FATHOM_RETURN_IF_ERROR(service->start());
  const char* scheme = cfg.tls.enabled() ? "https" : "http";
  std::printf("fathom gateway on %s://%s:%u  (config %s)\n", scheme, cfg.host.c_str(),
              service->port(), path.c_str());
  std::printf(
      "try: curl %s://%s:%u/v1/models -H 'Authorization: Bearer <key from fathom keys create>'\n",
      scheme, cfg.host.c_str(), service->port());
  std::fflush(stdout);
  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    (void)service->reload_from_file();  // logs why a bad file was refused
  }
  FATHOM_LOG(kInfo) << "gateway shutting down";
  service->stop();
  return ok_status();
}

}  // namespace

int run_gateway(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help") {
      std::printf(
          "usage: fathom gateway --config gateway.yaml [--port N] [--test-clock]\n"
          "       fathom gateway --check-config --config gateway.yaml\n"
          "         (validate only: prints OK or every problem; exits 0 or 1)\n"
          "  --test-clock: tests only: serverless scaling and prewarm schedules follow a clock\n"
          "    that POST /admin/test/clock {\"advance_ms\": N} moves (admin key required)\n");
      return 0;
    }
  Status s = gateway_main(argv);
  if (!s.ok()) {
    std::fprintf(stderr, "fathom gateway: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace fathom::cli
