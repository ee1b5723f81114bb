#include "server/protocol/generation_options.h"

#include <cmath>
#include <limits>

#include "server/protocol/structured_output.h"

namespace fathom::server::protocol {
namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

Status check_range(const char* name, double v, double lo, double hi) {
  if (v < lo || v > hi)
    return invalid_argument(std::string(name) + " must be in [" + num(lo) + ", " + num(hi) + "], got " + num(v));
  return ok_status();
}

Status parse_stop(const Json& body, GenerationOptions& o) {
  auto it = body.find("stop");
  if (it == body.end() || it->is_null()) return ok_status();
  if (it->is_string()) {
    o.stop.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    if (it->size() > kMaxStopStrings)
      return invalid_argument("stop may hold at most " + std::to_string(kMaxStopStrings) + " strings");
    for (const Json& s : *it) {
      if (!s.is_string()) return invalid_argument("stop must be a string or a list of strings");
      o.stop.push_back(s.get<std::string>());
    }
  } else {
    return invalid_argument("stop must be a string or a list of strings");
  }
  for (const std::string& s : o.stop)
    if (s.empty()) return invalid_argument("stop strings must not be empty");
  return ok_status();
}

Status parse_logit_bias(const Json& body, GenerationOptions& o) {
  auto it = body.find("logit_bias");
  if (it == body.end() || it->is_null()) return ok_status();
  if (!it->is_object()) return invalid_argument("logit_bias must be an object mapping token ids to biases");
  for (auto& [key, value] : it->items()) {
    char* end = nullptr;
    const long long id = std::strtoll(key.c_str(), &end, 10);
    if (key.empty() || *end != '\0' || id < 0 || id > std::numeric_limits<int32_t>::max())
      return invalid_argument("logit_bias keys must be token ids, got \"" + key + "\"");
    if (!value.is_number()) return invalid_argument("logit_bias values must be numbers");
    const double bias = value.get<double>();
    FATHOM_RETURN_IF_ERROR(check_range("logit_bias", bias, -100.0, 100.0));
    o.params.logit_bias.emplace_back(static_cast<int32_t>(id), static_cast<float>(bias));
  }
  return ok_status();
}

}  // namespace

Result<GenerationOptions> parse_generation_options(const Json& body, Api api) {
  GenerationOptions o;
  engine::RequestParams& p = o.params;

  // Length: max_completion_tokens (chat, newer clients) wins over max_tokens.
  FATHOM_ASSIGN_OR_RETURN(auto max_tokens, get_integer(body, "max_tokens"));
  if (api == Api::kChat) {
    FATHOM_ASSIGN_OR_RETURN(auto max_completion, get_integer(body, "max_completion_tokens"));
    if (max_completion) {
      if (*max_completion < 1)
        return invalid_argument("max_completion_tokens must be at least 1, got " + std::to_string(*max_completion));
      max_tokens = max_completion;
    }
  }
  if (max_tokens) {
    if (*max_tokens < 1) return invalid_argument("max_tokens must be at least 1, got " + std::to_string(*max_tokens));
    p.max_tokens = *max_tokens;
    o.max_tokens_set = true;
  }

  FATHOM_ASSIGN_OR_RETURN(auto temperature, get_number(body, "temperature"));
  if (temperature) {
    FATHOM_RETURN_IF_ERROR(check_range("temperature", *temperature, 0.0, 2.0));
    p.sampling.temperature = static_cast<float>(*temperature);
  } else {
    p.sampling.temperature = 1.0f;  // the OpenAI default
  }
  FATHOM_ASSIGN_OR_RETURN(auto top_p, get_number(body, "top_p"));
  if (top_p) {
    if (*top_p <= 0.0 || *top_p > 1.0) return invalid_argument("top_p must be in (0, 1], got " + num(*top_p));
    p.sampling.top_p = static_cast<float>(*top_p);
  }
  FATHOM_ASSIGN_OR_RETURN(auto top_k, get_integer(body, "top_k"));
  if (top_k) {
    if (*top_k < -1) return invalid_argument("top_k must be -1, 0 (off) or positive, got " + std::to_string(*top_k));
    p.sampling.top_k = *top_k <= 0 ? 0 : static_cast<int32_t>(std::min<int64_t>(*top_k, 1 << 30));
  }
  FATHOM_ASSIGN_OR_RETURN(auto min_p, get_number(body, "min_p"));
  if (min_p) {
    FATHOM_RETURN_IF_ERROR(check_range("min_p", *min_p, 0.0, 1.0));
    p.sampling.min_p = static_cast<float>(*min_p);
  }
  FATHOM_ASSIGN_OR_RETURN(auto seed, get_integer(body, "seed"));
  if (seed) {
    p.sampling.seed = static_cast<uint64_t>(*seed);
    o.seed_set = true;
  }
  FATHOM_ASSIGN_OR_RETURN(auto presence, get_number(body, "presence_penalty"));
  if (presence) {
    FATHOM_RETURN_IF_ERROR(check_range("presence_penalty", *presence, -2.0, 2.0));
    p.presence_penalty = static_cast<float>(*presence);
  }
  FATHOM_ASSIGN_OR_RETURN(auto frequency, get_number(body, "frequency_penalty"));
  if (frequency) {
    FATHOM_RETURN_IF_ERROR(check_range("frequency_penalty", *frequency, -2.0, 2.0));
    p.frequency_penalty = static_cast<float>(*frequency);
  }
  FATHOM_ASSIGN_OR_RETURN(auto repetition, get_number(body, "repetition_penalty"));
  if (repetition) {
    if (*repetition <= 0.0) return invalid_argument("repetition_penalty must be > 0, got " + num(*repetition));
    FATHOM_RETURN_IF_ERROR(check_range("repetition_penalty", *repetition, 0.0, 10.0));
    p.repetition_penalty = static_cast<float>(*repetition);
  }
  FATHOM_RETURN_IF_ERROR(parse_logit_bias(body, o));
  FATHOM_RETURN_IF_ERROR(parse_stop(body, o));

  auto ids = body.find("stop_token_ids");
  if (ids != body.end() && !ids->is_null()) {
    if (!ids->is_array()) return invalid_argument("stop_token_ids must be a list of token ids");
    for (const Json& id : *ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > std::numeric_limits<int32_t>::max())
        return invalid_argument("stop_token_ids must be a list of token ids");
      p.stop_token_ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
  }
  FATHOM_ASSIGN_OR_RETURN(auto ignore_eos, get_bool(body, "ignore_eos"));
  if (ignore_eos) p.ignore_eos = *ignore_eos;
  FATHOM_ASSIGN_OR_RETURN(auto include_stop, get_bool(body, "include_stop_str_in_output"));
  if (include_stop) o.include_stop_str_in_output = *include_stop;
  FATHOM_ASSIGN_OR_RETURN(auto skip_special, get_bool(body, "skip_special_tokens"));
  if (skip_special) o.skip_special_tokens = *skip_special;

  FATHOM_ASSIGN_OR_RETURN(auto n, get_integer(body, "n"));
  if (n) {
    if (*n < 1 || *n > kMaxN)
      return invalid_argument("n must be in [1, " + std::to_string(kMaxN) + "], got " + std::to_string(*n));
    o.n = static_cast<int32_t>(*n);
  }
  FATHOM_ASSIGN_OR_RETURN(auto best_of, get_integer(body, "best_of"));
  if (best_of && *best_of != o.n) return invalid_argument("best_of other than n is not supported");

  FATHOM_ASSIGN_OR_RETURN(auto stream, get_bool(body, "stream"));
  o.stream = stream.value_or(false);
  auto so = body.find("stream_options");
  if (so != body.end() && !so->is_null()) {
    if (!so->is_object()) return invalid_argument("stream_options must be an object");
    if (!o.stream) return invalid_argument("stream_options is only allowed when stream is true");
    FATHOM_ASSIGN_OR_RETURN(auto usage, get_bool(*so, "include_usage"));
    o.include_usage = usage.value_or(false);
  }

  // logprobs: a boolean plus top_logprobs (chat), or the number of alternatives (completions).
  if (api == Api::kChat) {
    FATHOM_ASSIGN_OR_RETURN(auto logprobs, get_bool(body, "logprobs"));
    o.logprobs = logprobs.value_or(false);
    FATHOM_ASSIGN_OR_RETURN(auto top, get_integer(body, "top_logprobs"));
    if (top) {
      if (*top < 0 || *top > 20) return invalid_argument("top_logprobs must be in [0, 20], got " + std::to_string(*top));
      if (!o.logprobs && *top > 0) return invalid_argument("top_logprobs requires logprobs to be true");
      o.top_logprobs = static_cast<int32_t>(*top);
    }
  } else {
    FATHOM_ASSIGN_OR_RETURN(auto logprobs, get_integer(body, "logprobs"));
    if (logprobs) {
      if (*logprobs < 0 || *logprobs > 20)
        return invalid_argument("logprobs must be in [0, 20], got " + std::to_string(*logprobs));
      o.logprobs = true;
      o.top_logprobs = static_cast<int32_t>(*logprobs);
    }
  }
  p.top_logprobs = o.logprobs ? o.top_logprobs : -1;

  FATHOM_ASSIGN_OR_RETURN(o.grammar, parse_structured_output(body));
  return o;
}

}  // namespace fathom::server::protocol
