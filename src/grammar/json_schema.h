// JSON Schema (the subset OpenAI's structured outputs, vLLM's guided_json and Pydantic use)
// compiled into a grammar whose every output parses as JSON and validates against the schema.
//
// Supported: type (one or a list), properties / required / additionalProperties (absent means
// false, as in OpenAI's strict mode), items / prefixItems / minItems / maxItems, enum, const,
// anyOf, a single allOf, $ref into $defs / definitions (recursion included), minLength /
// maxLength, pattern, format (date, time, date-time, uuid, ipv4, email), integer minimum /
// maximum (exclusive too) and non-negative integer bounds on numbers, nullable, and the
// annotations (title, description, default, examples, ...). Anything else is refused with a
// message naming the keyword and where it is: never silently ignored.
//
// Output layout: properties in schema order, ", " and ": " separators with the space optional,
// no other whitespace; numbers at most 15 digits before and after the point.
#pragma once

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "grammar/grammar.h"

namespace fathom::grammar {

Result<Grammar> json_schema_grammar(const nlohmann::ordered_json& schema);
/// Any JSON object (response_format {"type": "json_object"}).
Result<Grammar> json_object_grammar();

}  // namespace fathom::grammar
