// GET /v1/models: the one served model.
#include <chrono>

#include "server/reply.h"
#include "server/routes/routes.h"

namespace fathom::server::routes {

Status check_model_name(const ServerContext& ctx, const std::string& requested) {
  if (requested.empty() || requested == ctx.options().model_id) return ok_status();
  return not_found("The model `" + requested + "` does not exist. This server serves `" + ctx.options().model_id + "`.");
}

void models(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  static const int64_t kCreated =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  protocol::Json model = {{"id", ctx.options().model_id},
                          {"object", "model"},
                          {"created", kCreated},
                          {"owned_by", "fathom"},
                          {"root", ctx.options().model_dir},
                          {"parent", nullptr}};
  if (LoadedModel* m = ctx.model()) model["max_model_len"] = m->engine->max_model_len();
  reply_json(ctx, *ex, {{"object", "list"}, {"data", protocol::Json::array({std::move(model)})}});
}

}  // namespace fathom::server::routes
