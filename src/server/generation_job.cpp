#include "server/generation_job.h"

#include <chrono>
#include <optional>
#include <random>

#include "base/logging.h"
#include "server/error_mapping.h"
#include "server/protocol/render.h"
#include "server/protocol/responses_output.h"
#include "server/reply.h"

namespace fathom::server {
namespace {

using protocol::Api;
using protocol::Json;

struct Choice {
  std::string engine_id;
  size_t prompt_idx = 0;
  std::unique_ptr<OutputProcessor> processor;
  bool finished = false;
  std::string finish_reason;
  bool role_sent = false;
  int64_t cached_tokens = 0;
  // Non-streaming: the whole answer. Streaming: logprob tokens not yet sent with text.
  std::string content, reasoning;
  std::vector<tokenizer::ToolCall> tool_calls;  // assembled from the parser's pieces
  std::vector<engine::GeneratedToken> tokens;
  int64_t text_offset = 0;  // completions logprobs: bytes of text already sent
  bool saw_tool_calls = false;
};

uint64_t fresh_seed() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

void add_tool_call_pieces(std::vector<tokenizer::ToolCall>& calls,
                          const std::vector<tokenizer::ToolCallDelta>& pieces) {
  for (const tokenizer::ToolCallDelta& d : pieces) {
    if (d.index < 0) continue;
    if (static_cast<size_t>(d.index) >= calls.size())
      calls.resize(static_cast<size_t>(d.index) + 1);
    tokenizer::ToolCall& call = calls[static_cast<size_t>(d.index)];
    if (!d.id.empty()) call.id = d.id;
    if (!d.name.empty()) call.name = d.name;
    call.arguments += d.arguments;
  }
}

class Job : public std::enable_shared_from_this<Job> {
 public:
  Job(ServerContext& ctx, LoadedModel& model, std::shared_ptr<net::Exchange> ex,
      GenerationPlan plan)
      : ctx_(ctx), model_(model), ex_(std::move(ex)), plan_(std::move(plan)) {
    id_ = ctx_.next_id(plan_.api == Api::kChat        ? "chatcmpl"
                       : plan_.api == Api::kResponses ? "resp"
                                                      : "cmpl");
    created_ = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    if (plan_.api == Api::kResponses) {
      id_[id_.find('-')] = '_';  // resp_...
      responses_.emplace(id_, plan_.model, created_, plan_.responses_echo);
    }
  }

  void start() {
    const auto& o = plan_.options;
    const engine::EngineStats stats = model_.engine->stats();
    const int64_t kv_tokens =
        static_cast<int64_t>(stats.num_kv_blocks) * ctx_.options().engine.block_size;
    const int64_t limit = std::min(model_.engine->max_model_len(),
                                   kv_tokens > 0 ? kv_tokens : model_.engine->max_model_len());
    for (size_t p = 0; p < plan_.prompts.size(); ++p) {
      for (int32_t k = 0; k < o.n; ++k) {
        Choice c;
        c.prompt_idx = p;
        c.engine_id = id_ + (plan_.prompts.size() > 1 ? "-p" + std::to_string(p) : "") +
                      (o.n > 1 ? "-" + std::to_string(k) : "");
        OutputOptions output = plan_.output;
        output.tool_call_id_prefix = "call_" + c.engine_id.substr(c.engine_id.find('-') + 1) + "_";
        c.processor = std::make_unique<OutputProcessor>(*model_.tokenizer, std::move(output));
        if (!plan_.echo.empty()) c.text_offset = static_cast<int64_t>(plan_.echo[p].size());
        choices_.push_back(std::move(c));
      }
    }
    // Submit every choice; on the first refusal, take back what went in and answer the error.
    for (size_t i = 0; i < choices_.size(); ++i) {
      const auto& prompt = plan_.prompts[choices_[i].prompt_idx];
      engine::EngineRequest req;
      req.request_id = choices_[i].engine_id;
      req.prompt_ids = prompt;
      req.params = o.params;
      req.lora = plan_.lora;
      const int64_t prompt_len = static_cast<int64_t>(prompt.size());
      if (!o.max_tokens_set) req.params.max_tokens = std::max<int64_t>(1, limit - prompt_len);
      // A given seed makes choice k reproducible (seed + k); without one every choice draws its
      // own.
      req.params.sampling.seed =
          o.seed_set ? o.params.sampling.seed + static_cast<uint64_t>(i % o.n) : fresh_seed();
      auto self = shared_from_this();
      Status s = model_.engine->submit(std::move(req), [self, i](engine::RequestUpdate u) {
        self->ex_->post(
            [self, i, u = std::move(u)]() mutable { self->on_update(i, std::move(u)); });
      });
      if (!s.ok()) {
        failed_ = true;
        for (size_t k = 0; k < i; ++k) model_.engine->cancel(choices_[k].engine_id);
        reply_error(ctx_, *ex_, s);
        return;
      }
    }
    ex_->on_disconnect([self = shared_from_this()] { self->on_disconnect(); });
    if (o.stream) {
      ctx_.metrics().count_http_status(200);
      ex_->begin_stream();
      if (responses_) {
        send_events(responses_->start());
      } else if (plan_.api == Api::kChat) {
        for (size_t i = 0; i < choices_.size(); ++i) {
          Json delta = {{"role", "assistant"}, {"content", ""}};
          send_chunk(chunk_choice(i, std::move(delta), nullptr, nullptr));
          choices_[i].role_sent = true;
        }
      } else if (!plan_.echo.empty()) {
        for (size_t i = 0; i < choices_.size(); ++i)
          send_chunk(chunk_choice(i, Json(plan_.echo[choices_[i].prompt_idx]), nullptr, nullptr));
      }
    }
  }

 private:
  void on_disconnect() {
    if (failed_ || answered_) return;
    answered_ = true;
    ctx_.metrics().count_client_disconnect();
    for (Choice& c : choices_) {
      if (c.finished) continue;
      c.finished = true;
      ctx_.metrics().count_finish("abort");
      model_.engine->cancel(c.engine_id);
    }
  }

  void on_update(size_t i, engine::RequestUpdate u) {
    Choice& c = choices_[i];
    if (failed_ || answered_ || c.finished) return;
    c.cached_tokens = std::max(c.cached_tokens, u.cached_prompt_tokens);
    const bool engine_done = u.finish != engine::FinishReason::kNone;
    if (u.finish == engine::FinishReason::kError) {
      c.finished = true;
      ctx_.metrics().count_finish("error");
      return fail(u.error.ok() ? internal_error("generation failed") : u.error);
    }
    OutputDelta d = c.processor->process(u.tokens, engine_done);
    const char* finish = nullptr;
    if (d.stop_matched) {
      model_.engine->cancel(c.engine_id);
      finish = "stop";
    } else if (engine_done) {
      finish = engine::finish_reason_name(u.finish);
    }
    if (!d.tool_calls.empty()) c.saw_tool_calls = true;
    if (finish && std::string(finish) == "stop" && c.saw_tool_calls &&
        plan_.api != Api::kCompletions)
      finish = "tool_calls";
    if (finish) {
      c.finished = true;
      c.finish_reason = finish;
      ctx_.metrics().count_finish(finish);
    }
    if (responses_) {  // one choice; the same items streaming or not
      auto events = responses_->add(d.reasoning, d.content, d.tool_calls);
      if (plan_.options.stream) send_events(std::move(events));
    } else if (plan_.options.stream) {
      stream_delta(i, d, finish);
    } else {
      c.content += d.content;
      c.reasoning += d.reasoning;
      add_tool_call_pieces(c.tool_calls, d.tool_calls);
      if (plan_.options.logprobs) c.tokens.insert(c.tokens.end(), d.tokens.begin(), d.tokens.end());
    }
    if (finish) maybe_finish();
  }

  void fail(const Status& s) {
    for (Choice& c : choices_)
      if (!c.finished) model_.engine->cancel(c.engine_id);
    failed_ = true;
    plan_.lora.reset();
    FATHOM_LOG(kWarning) << id_ << ": " << s.to_string();
    if (plan_.options.stream && responses_) {
      // The Responses API's error codes: rate_limit_exceeded, invalid_prompt, server_error.
      const char* code = s.code() == Code::kResourceExhausted ? "rate_limit_exceeded"
                         : s.code() == Code::kInvalidArgument ? "invalid_prompt"
                                                              : "server_error";
      send_events(responses_->fail(code, s.message()));
      ex_->end_stream();
    } else if (plan_.options.stream) {
      const HttpError e = http_error_for(s.code());
      ex_->send_event(error_json(e.http_status, e.type, s.message(), ""));
      ex_->send_event("[DONE]");
      ex_->end_stream();
    } else {
      reply_error(ctx_, *ex_, s);
    }
  }

  void maybe_finish() {
    for (const Choice& c : choices_)
      if (!c.finished) return;
    answered_ = true;
    plan_.lora.reset();  // before the client hears the end: its adapter may be evicted from now
    if (responses_) {
      auto events = responses_->finish(choices_[0].finish_reason, usage());
      if (!plan_.options.stream) return reply_json(ctx_, *ex_, responses_->response());
      send_events(std::move(events));
      return ex_->end_stream();  // the Responses stream ends with response.completed, no [DONE]
    }
    if (plan_.options.stream) {
      if (plan_.options.include_usage) {
        Json chunk = chunk_base();
        chunk["choices"] = Json::array();
        chunk["usage"] = protocol::usage_json(usage());
        ex_->send_event(protocol::dump(chunk));
      }
      ex_->send_event("[DONE]");
      ex_->end_stream();
      return;
    }
    reply_json(ctx_, *ex_, full_response());
  }

  protocol::Usage usage() const {
    protocol::Usage u;
    for (const auto& p : plan_.prompts) u.prompt_tokens += static_cast<int64_t>(p.size());
    std::vector<int64_t> cached(plan_.prompts.size(), 0);
    for (const Choice& c : choices_) {
      u.completion_tokens += c.processor->num_tokens();
      cached[c.prompt_idx] = std::max(cached[c.prompt_idx], c.cached_tokens);
    }
    for (int64_t n : cached) u.cached_tokens += n;
    return u;
  }

  Json chunk_base() const {
    return {{"id", id_},
            {"object", plan_.api == Api::kChat ? "chat.completion.chunk" : "text_completion"},
            {"created", created_},
            {"model", plan_.model}};
  }

  /// A chunk with one choice. `delta`: the chat delta object, or the completions text.
  Json chunk_choice(size_t i, Json delta, const char* finish, Json* logprobs) {
    Json choice = {{"index", static_cast<int64_t>(i)}};
    if (plan_.api == Api::kChat)
      choice["delta"] = std::move(delta);
    else
      choice["text"] = std::move(delta);
    choice["logprobs"] = logprobs ? std::move(*logprobs) : Json(nullptr);
    choice["finish_reason"] = finish ? Json(finish) : Json(nullptr);
    Json chunk = chunk_base();
    chunk["choices"] = Json::array({std::move(choice)});
    if (plan_.options.include_usage) chunk["usage"] = nullptr;
    return chunk;
  }

  void send_chunk(const Json& chunk) { ex_->send_event(protocol::dump(chunk)); }
  void send_events(std::vector<protocol::ResponsesEvent> events) {
    for (protocol::ResponsesEvent& e : events)
      ex_->send_event(protocol::dump(e.data), std::move(e.type));
  }

  void stream_delta(size_t i, OutputDelta& d, const char* finish) {
    Choice& c = choices_[i];
    if (plan_.options.logprobs) c.tokens.insert(c.tokens.end(), d.tokens.begin(), d.tokens.end());
    const bool has_text = !d.content.empty() || !d.reasoning.empty() || !d.tool_calls.empty();
    if (!has_text && !finish) return;  // logprob tokens wait for their text
    Json logprobs;
    Json* lp = nullptr;
    if (plan_.options.logprobs && !c.tokens.empty()) {
      logprobs = plan_.api == Api::kChat ? protocol::chat_logprobs_json(*model_.tokenizer, c.tokens)
                                         : protocol::completion_logprobs_json(
                                               *model_.tokenizer, c.tokens, c.text_offset);
      lp = &logprobs;
      c.tokens.clear();
    }
    if (plan_.api == Api::kChat) {
      Json delta = Json::object();
      if (!d.content.empty()) delta["content"] = d.content;
      if (!d.reasoning.empty()) {
        delta["reasoning_content"] = d.reasoning;
        delta["reasoning"] = d.reasoning;
      }
      if (!d.tool_calls.empty())
        delta["tool_calls"] = protocol::tool_call_deltas_json(d.tool_calls);
      send_chunk(chunk_choice(i, std::move(delta), finish, lp));
    } else {
      c.text_offset += static_cast<int64_t>(d.content.size());
      send_chunk(chunk_choice(i, Json(d.content), finish, lp));
    }
  }

  Json full_response() const {
    Json choices = Json::array();
    for (size_t i = 0; i < choices_.size(); ++i) {
      const Choice& c = choices_[i];
      Json choice = {{"index", static_cast<int64_t>(i)}};
      if (plan_.api == Api::kChat) {
        Json message = {{"role", "assistant"}, {"content", c.content}, {"refusal", nullptr}};
        if (!c.reasoning.empty() || plan_.output.parse_reasoning) {
          message["reasoning_content"] = c.reasoning.empty() ? Json(nullptr) : Json(c.reasoning);
          message["reasoning"] = message["reasoning_content"];
        }
        if (!c.tool_calls.empty()) {
          message["tool_calls"] = protocol::tool_calls_json(c.tool_calls);
          if (c.content.empty()) message["content"] = nullptr;
        }
        choice["message"] = std::move(message);
        choice["logprobs"] = plan_.options.logprobs
                                 ? protocol::chat_logprobs_json(*model_.tokenizer, c.tokens)
                                 : Json(nullptr);
      } else {
        const std::string echo = plan_.echo.empty() ? std::string() : plan_.echo[c.prompt_idx];
        choice["text"] = echo + c.content;
        choice["logprobs"] = plan_.options.logprobs ? protocol::completion_logprobs_json(
                                                          *model_.tokenizer, c.tokens,
                                                          static_cast<int64_t>(echo.size()))
                                                    : Json(nullptr);
      }
      choice["finish_reason"] = c.finish_reason;
      choices.push_back(std::move(choice));
    }
    return {{"id", id_},
            {"object", plan_.api == Api::kChat ? "chat.completion" : "text_completion"},
            {"created", created_},
            {"model", plan_.model},
            {"choices", std::move(choices)},
            {"usage", protocol::usage_json(usage())}};
  }

  ServerContext& ctx_;
  LoadedModel& model_;
  std::shared_ptr<net::Exchange> ex_;
  GenerationPlan plan_;
  std::string id_;
  int64_t created_ = 0;
  std::vector<Choice> choices_;
  std::optional<protocol::ResponsesOutput> responses_;  // kResponses only
  bool failed_ = false;    // an error was answered; ignore everything after
  bool answered_ = false;  // the full answer went out, or the client left
};

}  // namespace

void start_generation(ServerContext& ctx, LoadedModel& model, std::shared_ptr<net::Exchange> ex,
                      GenerationPlan plan) {
  if (const auto& g = plan.options.grammar) {
    if (!model.vocab) {
      const bool tools = plan.output.forced_tools != OutputOptions::ForcedTools::kNone;
      return reply_error(ctx, *ex,
                         invalid_argument((tools ? "tool_choice: " : "response_format: ") +
                                          model.vocab_error.message()));
    }
    plan.options.params.constraint =
        std::make_shared<const grammar::TokenConstraint>(grammar::TokenConstraint{g, model.vocab});
    // The grammar shapes the whole output: there is no reasoning or tool-call markup to split off.
    plan.output.parse_reasoning = false;
    plan.output.reasoning_starts_open = false;
    plan.output.parse_tool_calls = false;
  }
  // --log-level debug: each prompt as the model gets it, one JSON string per line (what a
  // gateway in front added, such as a tenant's system prompt, shows here).
  for (const auto& prompt : plan.prompts)
    FATHOM_LOG(kDebug) << "prompt (model '" << plan.model << "'): "
                       << protocol::Json(model.tokenizer->decode(prompt, false))
                              .dump(-1, ' ', false, protocol::Json::error_handler_t::replace);
  std::make_shared<Job>(ctx, model, std::move(ex), std::move(plan))->start();
}

}  // namespace fathom::server
