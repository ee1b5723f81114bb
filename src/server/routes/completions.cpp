// POST /v1/completions: the prompt as text (tokenized with the model's BOS rule) or token ids.
#include "server/generation_job.h"
#include "server/protocol/completion_request.h"
#include "server/reply.h"
#include "server/routes/routes.h"

namespace fathom::server::routes {

void completions(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  LoadedModel& m = *ctx.model();
  Result<protocol::CompletionRequest> req = protocol::parse_completion_request(ex->request().body);
  if (!req.ok()) return reply_error(ctx, *ex, req.status());
  auto lora = resolve_model(ctx, req->model);
  if (!lora.ok()) return reply_error(ctx, *ex, lora.status());

  GenerationPlan plan;
  plan.api = protocol::Api::kCompletions;
  plan.model = ctx.options().model_id;
  plan.set_lora(std::move(*lora));
  for (size_t k = 0; k < req->prompts.size(); ++k) {
    protocol::PromptInput& in = req->prompts[k];
    if (in.is_ids) {
      for (int32_t id : in.ids)
        if (id >= m.tokenizer->vocab_size() && id >= m.engine->model_config().vocab_size)
          return reply_error(ctx, *ex, invalid_argument("prompt token id " + std::to_string(id) + " is outside the vocabulary"));
      if (req->echo) plan.echo.push_back(m.tokenizer->decode(in.ids, req->options.skip_special_tokens));
      plan.prompts.push_back(std::move(in.ids));
    } else {
      Result<std::vector<int32_t>> ids = m.tokenizer->encode(in.text, /*add_special_tokens=*/true);
      if (!ids.ok()) return reply_error(ctx, *ex, invalid_argument("prompt: " + ids.status().message()));
      if (req->echo) plan.echo.push_back(in.text);
      plan.prompts.push_back(std::move(*ids));
    }
  }
  plan.options = std::move(req->options);
  plan.output.stop = plan.options.stop;
  plan.output.include_stop_str_in_output = plan.options.include_stop_str_in_output;
  plan.output.skip_special_tokens = plan.options.skip_special_tokens;
  start_generation(ctx, m, std::move(ex), std::move(plan));
}

}  // namespace fathom::server::routes
