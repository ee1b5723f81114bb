// Prewarming: how many instances a pool keeps ready regardless of its traffic, from schedule
// windows in an explicit time zone and from the recent request rate. Pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "gateway/serverless/serverless_config.h"

namespace date {
class time_zone;
}

namespace fathom::gateway {

/// The IANA time zone named `name` from the system's tz database; an error naming it otherwise.
Result<const date::time_zone*> find_time_zone(const std::string& name);

/// "08:30" -> 510 minutes after midnight ("24:00" is the end of the day).
Result<int32_t> parse_time_of_day(const std::string& text);

/// The most instances any window covering `now` asks for (0 when none does).
int32_t scheduled_instances(const PrewarmConfig& cfg, const date::time_zone* zone,
                            Clock::WallTime now);

/// Instances the recent request rate predicts: 0 below predict_min_requests_per_minute, else
/// Little's law (rate x mean time per request / the instance's target concurrency), at least 1.
int32_t predicted_instances(const PrewarmConfig& cfg, const AutoscalerConfig& scaling,
                            int64_t requests_in_window, double mean_request_s);

}  // namespace fathom::gateway
