#include "gateway/classify/redactor.h"

#include <algorithm>

namespace fathom::gateway::classify {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

bool any_contains(const std::vector<std::string>& texts, std::string_view needle) {
  return std::any_of(texts.begin(), texts.end(),
                     [&](const std::string& t) { return t.find(needle) != std::string::npos; });
}

// An upstream's JSON is not trusted: an `index` of another type counts as `fallback`.
int64_t index_or(const nlohmann::json& obj, int64_t fallback) {
  const auto it = obj.find("index");
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

}  // namespace

std::optional<Redaction> Redaction::apply(nlohmann::json& body, const ClassifierConfig& cfg) {
  std::vector<std::string> originals;
  for_each_request_text(body, [&](std::string& s) { originals.push_back(s); });
  Redaction r;
  std::map<std::string, std::string, std::less<>> placeholder_of;  // original -> placeholder
  std::map<std::string, int, std::less<>> next_number;             // per kind
  std::vector<Span> spans;
  bool ok = true;
  for_each_request_text(body, [&](std::string& text) {
    if (!ok) return;
    if (!find_spans(text, cfg, spans)) {
      ok = false;
      return;
    }
    if (spans.empty()) return;
    std::string out;
    size_t at = 0;
    for (const Span& s : spans) {
      const std::string original = text.substr(s.begin, s.end - s.begin);
      auto it = placeholder_of.find(original);
      if (it == placeholder_of.end()) {
        const std::string kind = upper(s.kind);
        std::string placeholder;
        do placeholder = "[" + kind + "_" + std::to_string(++next_number[kind]) + "]";
        while (any_contains(originals, placeholder));
        r.entries_.emplace_back(placeholder, original);
        r.longest_ = std::max(r.longest_, placeholder.size());
        it = placeholder_of.emplace(original, std::move(placeholder)).first;
      }
      out.append(text, at, s.begin - at).append(it->second);
      at = s.end;
    }
    text = out.append(text, at);
  });
  if (!ok) return std::nullopt;
  // What leaves must not classify as sensitive by the same rules (a keyword inside a
  // placeholder's name, a detector match that the replacement created): fail closed.
  const Classification after = classify({.texts = request_texts(body)}, cfg);
  if (after.has(kReasonDetector) || after.has(kReasonKeyword) || after.has(kReasonPattern))
    return std::nullopt;
  return r;
}

std::string Redaction::restore(std::string_view text) const {
  std::string out;
  size_t at = 0;
  for (size_t open = text.find('['); open != std::string_view::npos;
       open = text.find('[', open + 1)) {
    if (open < at) continue;
    for (const auto& [placeholder, original] : entries_)
      if (text.substr(open).starts_with(placeholder)) {
        out.append(text.substr(at, open - at)).append(original);
        at = open + placeholder.size();
        break;
      }
  }
  return out.append(text.substr(at));
}

void Redaction::restore_json(nlohmann::json& j) const {
  if (j.is_string()) {
    j = restore(j.get_ref<const std::string&>());
  } else if (j.is_structured()) {
    for (nlohmann::json& v : j) restore_json(v);
  }
}

std::string StreamRestorer::feed(std::string_view piece) {
  pending_.append(piece);
  // Only the last '[' can open an unfinished placeholder: placeholders hold no other '['.
  size_t cut = pending_.size();
  const size_t open = pending_.rfind('[');
  if (open != std::string::npos && pending_.size() - open < r_->longest_placeholder() &&
      pending_.find(']', open) == std::string::npos)
    cut = open;
  std::string out = r_->restore(std::string_view(pending_).substr(0, cut));
  pending_.erase(0, cut);
  return out;
}

std::string StreamRestorer::flush() {
  std::string out = r_->restore(pending_);
  pending_.clear();
  return out;
}

StreamRestorer& ChunkRestorer::channel(int64_t choice, const std::string& name) {
  return channels_.try_emplace({choice, name}, r_).first->second;
}

void ChunkRestorer::restore(nlohmann::json& chunk) {
  static constexpr const char* kDeltaTexts[] = {"content", "reasoning_content", "refusal"};
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array()) return;
  int64_t position = 0;
  for (nlohmann::json& choice : *choices) {
    const int64_t pos = position++;
    if (!choice.is_object()) continue;
    const int64_t idx = index_or(choice, pos);
    nlohmann::json* delta = nullptr;
    if (auto d = choice.find("delta"); d != choice.end() && d->is_object()) delta = &*d;
    const auto feed = [&](nlohmann::json& v, const std::string& name) {
      if (v.is_string()) v = channel(idx, name).feed(v.get_ref<const std::string&>());
    };
    if (delta) {
      for (const char* name : kDeltaTexts)
        if (auto v = delta->find(name); v != delta->end()) feed(*v, name);
      if (auto calls = delta->find("tool_calls"); calls != delta->end() && calls->is_array())
        for (nlohmann::json& call : *calls) {
          if (!call.is_object()) continue;
          const std::string name = "tool" + std::to_string(index_or(call, 0));
          if (auto fn = call.find("function"); fn != call.end() && fn->is_object())
            if (auto args = fn->find("arguments"); args != fn->end()) feed(*args, name);
        }
    }
    if (auto text = choice.find("text"); text != choice.end()) feed(*text, "text");

    const auto finish = choice.find("finish_reason");
    if (finish == choice.end() || finish->is_null()) continue;
    // The choice ends here: what each of its texts held back goes out with this chunk.
    for (auto& [key, restorer] : channels_) {
      if (key.first != idx) continue;
      const std::string& name = key.second;
      std::string rest = restorer.flush();
      if (rest.empty()) continue;
      const auto append = [&](nlohmann::json& v) {
        v = (v.is_string() ? v.get<std::string>() : std::string()) + rest;
      };
      if (name == "text") {
        append(choice["text"]);
        continue;
      }
      nlohmann::json& d = choice["delta"];
      if (!d.is_object()) d = nlohmann::json::object();
      if (!name.starts_with("tool")) {
        append(d[name]);
        continue;
      }
      const int64_t tool = std::stoll(name.substr(4));
      nlohmann::json& calls = d["tool_calls"];
      if (!calls.is_array()) calls = nlohmann::json::array();
      const auto call = std::find_if(calls.begin(), calls.end(), [&](const nlohmann::json& c) {
        return c.is_object() && index_or(c, -1) == tool;
      });
      if (call != calls.end() && (*call)["function"].is_object())
        append((*call)["function"]["arguments"]);
      else
        calls.push_back({{"index", tool}, {"function", {{"arguments", rest}}}});
    }
  }
}

}  // namespace fathom::gateway::classify
