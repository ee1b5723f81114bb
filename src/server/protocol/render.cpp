#include "server/protocol/render.h"

#include <cmath>

namespace fathom::server::protocol {
namespace {

std::string token_string(const tokenizer::Tokenizer& tok, int32_t id) {
  const int32_t ids[1] = {id};
  return tok.decode(ids, false);
}

Json token_bytes(const tokenizer::Tokenizer& tok, int32_t id) {
  const std::string* raw = tok.token_bytes(id);
  const std::string text = raw ? *raw : token_string(tok, id);
  Json bytes = Json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

// JSON has no -Infinity; a token the sampler could not pick reports the smallest float.
double finite(float lp) { return std::isfinite(lp) ? lp : -9999.0; }

}  // namespace

Json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

Json chat_logprobs_json(const tokenizer::Tokenizer& tok, const std::vector<engine::GeneratedToken>& tokens) {
  Json content = Json::array();
  for (const engine::GeneratedToken& t : tokens) {
    Json top = Json::array();
    for (const engine::TokenLogprob& alt : t.top_logprobs)
      top.push_back({{"token", token_string(tok, alt.token_id)},
                     {"logprob", finite(alt.logprob)},
                     {"bytes", token_bytes(tok, alt.token_id)}});
    content.push_back({{"token", token_string(tok, t.token_id)},
                       {"logprob", finite(t.logprob)},
                       {"bytes", token_bytes(tok, t.token_id)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}, {"refusal", nullptr}};  // the spec requires both properties
}

Json completion_logprobs_json(const tokenizer::Tokenizer& tok, const std::vector<engine::GeneratedToken>& tokens,
                              int64_t text_offset) {
  Json strs = Json::array(), lps = Json::array(), tops = Json::array(), offsets = Json::array();
  for (const engine::GeneratedToken& t : tokens) {
    const std::string s = token_string(tok, t.token_id);
    strs.push_back(s);
    lps.push_back(finite(t.logprob));
    Json top = Json::object();
    for (const engine::TokenLogprob& alt : t.top_logprobs) top[token_string(tok, alt.token_id)] = finite(alt.logprob);
    tops.push_back(std::move(top));
    offsets.push_back(text_offset);
    text_offset += static_cast<int64_t>(s.size());
  }
  return {{"tokens", std::move(strs)}, {"token_logprobs", std::move(lps)}, {"top_logprobs", std::move(tops)},
          {"text_offset", std::move(offsets)}};
}

Json tool_calls_json(const std::vector<tokenizer::ToolCall>& calls) {
  Json out = Json::array();
  for (const tokenizer::ToolCall& c : calls)
    out.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
  return out;
}

Json tool_call_deltas_json(const std::vector<tokenizer::ToolCallDelta>& deltas) {
  Json out = Json::array();
  for (const tokenizer::ToolCallDelta& d : deltas) {
    Json c = {{"index", d.index}};
    Json function = Json::object();
    if (!d.id.empty()) {
      c["id"] = d.id;
      c["type"] = "function";
    }
    if (!d.name.empty()) function["name"] = d.name;
    function["arguments"] = d.arguments;
    c["function"] = std::move(function);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace fathom::server::protocol
