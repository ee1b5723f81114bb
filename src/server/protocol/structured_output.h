// The structured-output fields of a request, compiled into a grammar: OpenAI's
// response_format (json_object, json_schema), the Responses API's text.format, and vLLM's
// guided_json / guided_regex / guided_choice (also spelled structured_outputs: {json, regex,
// choice}). At most one may be given. Errors name the field and, for schemas, the place in it.
#pragma once

#include <memory>
#include <string>

#include "grammar/grammar.h"
#include "server/protocol/json_fields.h"

namespace fathom::server::protocol {

using GrammarPtr = std::shared_ptr<const grammar::Grammar>;

/// Null when the request asks for free text.
Result<GrammarPtr> parse_structured_output(const Json& body);

/// One format object: {"type": "text" | "json_object" | "json_schema", ...}. `field` is how the
/// error messages name it; `flat`: the schema's name/schema/strict sit in the object itself
/// (Responses API text.format) rather than under "json_schema" (chat response_format).
Result<GrammarPtr> compile_format(const Json& format, const std::string& field, bool flat);

}  // namespace fathom::server::protocol
