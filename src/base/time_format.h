// Wall-clock time as text for logs and records: "2026-11-28T04:50:00.123Z" (UTC, milliseconds).
#pragma once

#include <chrono>
#include <string>

namespace fathom {

std::string format_rfc3339_ms(std::chrono::system_clock::time_point t);
/// The inverse for UTC times written by format_rfc3339_ms ("...Z", milliseconds optional);
/// false for anything else.
bool parse_rfc3339(const std::string& text, std::chrono::system_clock::time_point& out);
inline std::string now_rfc3339_ms() { return format_rfc3339_ms(std::chrono::system_clock::now()); }

}  // namespace fathom
