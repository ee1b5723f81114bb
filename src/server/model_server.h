// `fathom serve` as a function: listen first (so /health can say 503 while loading), load
// the model and start the engine, serve until SIGTERM or SIGINT, then drain: /health turns
// 503, new requests get 503, in-flight requests finish and their responses are written, and
// the function returns Ok (exit code 0).
#pragma once

#include <functional>
#include <string>

#include "base/status.h"
#include "server/server_context.h"

namespace fathom::server {

struct ServeHooks {
  /// Extra words for the "model loaded" log line (e.g. that the weights are random).
  std::string model_note;
};

Status run_model_server(ServeOptions options, const ServeHooks& hooks = {});

}  // namespace fathom::server
