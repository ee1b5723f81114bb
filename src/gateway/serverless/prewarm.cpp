#include "gateway/serverless/prewarm.h"

#include <date/tz.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace fathom::gateway {

Result<const date::time_zone*> find_time_zone(const std::string& name) {
  // The library opens /usr/share/zoneinfo/<name>: only plain zone names reach it.
  const bool plain = !name.empty() && name.size() <= 64 && name.find("..") == std::string::npos &&
                     name.front() != '/' && std::all_of(name.begin(), name.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' ||
                              c == '-' || c == '+';
                     });
  if (!plain)
    return invalid_argument("'" + name +
                            "' is not a time zone name (an IANA name such as Asia/Shanghai)");
  try {  // the tz library reports an unknown name with an exception: converted here
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return invalid_argument("unknown time zone '" + name +
                            "' (an IANA name such as Asia/Shanghai or UTC)");
  }
}

Result<int32_t> parse_time_of_day(const std::string& text) {
  if (text.size() != 5 || text[2] != ':' || !std::isdigit(static_cast<unsigned char>(text[0])) ||
      !std::isdigit(static_cast<unsigned char>(text[1])) ||
      !std::isdigit(static_cast<unsigned char>(text[3])) ||
      !std::isdigit(static_cast<unsigned char>(text[4])))
    return invalid_argument("'" + text + "' is not a time of day (HH:MM)");
  const int32_t h = (text[0] - '0') * 10 + (text[1] - '0'),
                m = (text[3] - '0') * 10 + (text[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0))
    return invalid_argument("'" + text + "' is not a time of day (00:00..24:00)");
  return h * 60 + m;
}

int32_t scheduled_instances(const PrewarmConfig& cfg, const date::time_zone* zone,
                            Clock::WallTime now) {
  if (cfg.windows.empty() || !zone) return 0;
  const auto local = zone->to_local(std::chrono::time_point_cast<std::chrono::seconds>(now));
  const auto day = date::floor<date::days>(local);
  const int32_t minute =
      static_cast<int32_t>(std::chrono::duration_cast<std::chrono::minutes>(local - day).count());
  const unsigned weekday = date::weekday(day).c_encoding();  // 0 = Sunday
  const unsigned yesterday = (weekday + 6) % 7;
  int32_t most = 0;
  for (const PrewarmWindow& w : cfg.windows) {
    bool in = false;
    if (w.from_minute <= w.to_minute) {
      in = (w.days_mask >> weekday & 1) && minute >= w.from_minute && minute < w.to_minute;
    } else {  // wraps past midnight: the evening part today, the morning part from yesterday's
              // window
      in = ((w.days_mask >> weekday & 1) && minute >= w.from_minute) ||
           ((w.days_mask >> yesterday & 1) && minute < w.to_minute);
    }
    if (in) most = std::max(most, w.instances);
  }
  return most;
}

int32_t predicted_instances(const PrewarmConfig& cfg, const AutoscalerConfig& scaling,
                            int64_t requests_in_window, double mean_request_s) {
  if (cfg.predict_window_ms <= 0 || requests_in_window <= 0) return 0;
  const double minutes = static_cast<double>(cfg.predict_window_ms) / 60'000.0;
  const double per_minute = static_cast<double>(requests_in_window) / minutes;
  if (per_minute < cfg.predict_min_requests_per_minute) return 0;
  const double target =
      std::max(scaling.target_concurrency * scaling.target_utilization_percentage / 100, 1e-9);
  const double concurrency = per_minute / 60.0 * std::max(mean_request_s, 0.0);  // Little's law
  return std::max(1, static_cast<int32_t>(std::min(std::ceil(concurrency / target), 1e6)));
}

}  // namespace fathom::gateway
