// One chat or completions request in flight: n choices per prompt, each an engine request
// (ids suffixed "-<k>") with its own OutputProcessor. Engine updates are posted to the
// connection's strand and handled there, so the engine thread only queues; the job streams
// SSE chunks or collects one JSON response, cancels on client disconnect and on stop strings,
// and counts usage.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "net/exchange.h"
#include "server/output_processor.h"
#include "server/protocol/generation_options.h"
#include "server/server_context.h"

namespace fathom::server {

struct GenerationPlan {
  protocol::Api api = protocol::Api::kChat;
  std::string model;  ///< echoed in responses
  protocol::GenerationOptions options;
  OutputOptions output;
  std::vector<std::vector<int32_t>> prompts;  ///< token ids, one choice group each
  std::vector<std::string> echo;              ///< completions with echo: each prompt's text
  protocol::Json responses_echo;              ///< kResponses: ResponsesRequest::echo
  /// The LoRA adapter every choice runs with (null: the base model); released once the job
  /// has answered, before the client hears the end.
  std::shared_ptr<const model::lora::LoraAdapter> lora;

  /// Selects the adapter; the responses then name it as their model.
  void set_lora(std::shared_ptr<const model::lora::LoraAdapter> a) {
    if (a) model = a->name;
    lora = std::move(a);
  }
};

/// Submits every choice and answers `ex` (errors included). Call on the exchange's strand.
void start_generation(ServerContext& ctx, LoadedModel& model, std::shared_ptr<net::Exchange> ex,
                      GenerationPlan plan);

}  // namespace fathom::server
