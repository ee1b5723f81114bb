// GET /metrics: Prometheus text format.
#include <chrono>

#include "server/reply.h"
#include "server/routes/routes.h"

namespace fathom::server::routes {

void metrics(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  std::optional<engine::EngineStats> stats;
  if (LoadedModel* m = ctx.model()) stats = m->engine->stats();
  ServerMetricsSnapshot s = ctx.metrics().snapshot();
  if (const net::HttpServer* http = ctx.http_server()) {
    s.active_exchanges = http->num_active_exchanges();
    s.open_connections = http->num_open_connections();
  }
  net::HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  // LoRA serving is on once --lora or the runtime routes can give the server adapters.
  std::optional<LoraRequestsInfo> lora;
  if (LoadedModel* m = ctx.model();
      m && m->loras && (!ctx.options().loras.empty() || ctx.options().allow_runtime_lora))
    lora = LoraRequestsInfo{
        m->loras->max_loras(),
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()};
  r.body = render_metrics(stats ? &*stats : nullptr, s, ctx.options().model_id,
                          ctx.options().metrics_names, lora ? &*lora : nullptr);
  reply(ctx, *ex, std::move(r));
}

}  // namespace fathom::server::routes
