// Wall-clock time as text for logs and records: "2026-11-28T04:50:00.123Z" (UTC, milliseconds).
#pragma once

#include <chrono>
#include <string>

namespace fathom {

std::string format_rfc3339_ms(std::chrono::system_clock::time_point t);
inline std::string now_rfc3339_ms() { return format_rfc3339_ms(std::chrono::system_clock::now()); }

}  // namespace fathom
