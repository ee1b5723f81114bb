// GET /v1/models and /v1/models/{id}: the one served model.
#include <chrono>
#include <cstring>

#include "server/reply.h"
#include "server/routes/routes.h"

namespace fathom::server::routes {

Status check_model_name(const ServerContext& ctx, const std::string& requested) {
  if (requested.empty() || requested == ctx.options().model_id) return ok_status();
  return not_found("The model `" + requested + "` does not exist. This server serves `" + ctx.options().model_id + "`.");
}

namespace {
protocol::Json model_object(const ServerContext& ctx) {
  static const int64_t kCreated =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  protocol::Json model = {{"id", ctx.options().model_id},
                          {"object", "model"},
                          {"created", kCreated},
                          {"owned_by", "fathom"},
                          {"root", ctx.options().model_dir},
                          {"parent", nullptr}};
  if (LoadedModel* m = ctx.model()) model["max_model_len"] = m->engine->max_model_len();
  return model;
}
}  // namespace

void models(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  reply_json(ctx, *ex, {{"object", "list"}, {"data", protocol::Json::array({model_object(ctx)})}});
}

void model(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  const std::string id = net::percent_decode(std::string_view(ex->request().path).substr(std::strlen("/v1/models/")));
  if (id != ctx.options().model_id) return reply_error(ctx, *ex, check_model_name(ctx, id));
  reply_json(ctx, *ex, model_object(ctx));
}

}  // namespace fathom::server::routes
