// The serverless pools' admin routes and /metrics lines, kept apart from GatewayService:
//   GET  /admin/pools                    every serverless pool: instances (pid, port, state), queue
//   POST /admin/pools/{name}/prewarm     {"instances": N, "hold_ms": M}: keep N ready for M ms
//   POST /admin/test/clock               {"advance_ms": N}: only under `fathom gateway
//   --test-clock`
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "gateway/serverless/worker_pool.h"
#include "net/http_message.h"

namespace fathom::gateway {

using WorkerPools = std::map<std::string, std::shared_ptr<WorkerPool>>;

/// The answer for a serverless admin route; nullopt when `req` is for another admin route.
/// `test_clock`: the autoscalers' clock when the gateway runs with --test-clock, else null.
std::optional<net::HttpResponse> handle_pool_admin(const net::HttpRequest& req,
                                                   const WorkerPools& pools, FakeClock* test_clock);

/// Prometheus lines for the serverless pools (instances by state, queued requests, desired
/// instances, starts, failures, crashes, the cold-start histogram).
std::string render_pool_metrics(const WorkerPools& pools);

}  // namespace fathom::gateway
