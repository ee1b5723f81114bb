// A parsed Jinja template with the semantics transformers renders chat templates with
// (trim_blocks, lstrip_blocks, an immutable sandbox, Python value semantics, loopcontrols).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

namespace fathom::tokenizer::jinja {

struct RenderEnv {
  std::vector<std::pair<std::string, Value>> variables;
  /// What strftime_now() sees, as Unix seconds (UTC); nullopt: the wall clock.
  std::optional<int64_t> now_unix_s;
};

class Template {
 public:
  /// Parse errors read "line N: ...".
  static Result<Template> parse(std::string_view source);

  /// Runtime errors (including raise_exception) read "line N: ...".
  Result<std::string> render(const RenderEnv& env) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace fathom::tokenizer::jinja
