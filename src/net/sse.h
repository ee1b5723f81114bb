// Server-sent events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html).
#pragma once

#include <string>
#include <string_view>

namespace fathom::net {

/// One event: every line of `data` becomes a "data: " line, then a blank line ends the event.
/// "\r\n", "\r" and "\n" all count as line breaks inside `data`. A non-empty `event` (a type
/// name without line breaks, as the Responses API sends) goes first, as an "event: " line.
std::string format_sse_event(std::string_view data, std::string_view event = {});

}  // namespace fathom::net
