#include "server/chat_plan.h"

#include "server/protocol/tool_choice.h"
#include "tokenizer/reasoning_parser.h"

namespace fathom::server {

// DeepSeek-V3's own template ignores `tools`: the system-prompt text then shows them, with the
// call markup the output parser reads.
Result<std::string> render_chat_prompt(const tokenizer::ChatTemplate& tmpl,
                                       const protocol::ChatRequest& req) {
  tokenizer::ChatRenderOptions render;
  render.add_generation_prompt = req.add_generation_prompt;
  render.extra_kwargs = req.chat_template_kwargs;
  const protocol::Json no_tools;
  const protocol::Json& tools = req.tool_choice == "none" ? no_tools : req.tools;
  FATHOM_ASSIGN_OR_RETURN(std::string text,
                          tokenizer::render_chat(tmpl, req.messages, tools, render));
  if (tools.is_null()) return text;
  FATHOM_ASSIGN_OR_RETURN(std::string without,
                          tokenizer::render_chat(tmpl, req.messages, no_tools, render));
  if (text != without) return text;
  const protocol::Json messages = protocol::with_system_text(
      req.messages, protocol::tools_system_prompt(tools, req.parallel_tool_calls));
  return tokenizer::render_chat(tmpl, messages, tools, render);
}

Result<GenerationPlan> plan_chat(const ServerContext& ctx, const LoadedModel& m,
                                 protocol::ChatRequest req) {
  if (!m.chat_template)
    return invalid_argument(
        "messages cannot be rendered: this model has no chat template; "
        "use /v1/completions with a prompt");
  Result<std::string> text = render_chat_prompt(*m.chat_template, req);
  if (!text.ok()) return invalid_argument("messages: " + text.status().message());
  // The template writes BOS itself; adding special tokens again would double it.
  Result<std::vector<int32_t>> ids = m.tokenizer->encode(*text, /*add_special_tokens=*/false);
  if (!ids.ok()) return invalid_argument("messages: " + ids.status().message());

  GenerationPlan plan;
  plan.api = protocol::Api::kChat;
  plan.model = ctx.options().model_id;
  plan.options = std::move(req.options);
  OutputOptions& out = plan.output;
  out.stop = plan.options.stop;
  out.include_stop_str_in_output = plan.options.include_stop_str_in_output;
  out.skip_special_tokens = plan.options.skip_special_tokens;
  out.parse_reasoning = ctx.options().reasoning_parser;
  out.reasoning_starts_open = out.parse_reasoning && tokenizer::prompt_opens_reasoning(*text);
  out.parse_tool_calls =
      ctx.options().tool_call_parser && !req.tools.is_null() && req.tool_choice != "none";
  out.max_tool_calls = req.parallel_tool_calls ? 0 : 1;

  FATHOM_ASSIGN_OR_RETURN(protocol::GrammarPtr forced, protocol::forced_tool_grammar(req));
  if (forced) {
    if (plan.options.grammar)
      return invalid_argument(
          "tool_choice \"" + req.tool_choice +
          "\" makes the answer tool calls; it cannot be combined with response_format or "
          "guided_* (use tool_choice \"auto\")");
    plan.options.grammar = std::move(forced);
    out.forced_tools = req.tool_choice == "required" ? OutputOptions::ForcedTools::kRequired
                                                     : OutputOptions::ForcedTools::kNamed;
    out.forced_tool_name = req.tool_choice_name;
  }
  plan.prompts.push_back(std::move(*ids));
  return plan;
}

}  // namespace fathom::server
