// GET /v1/models and /v1/models/{id}: the base model and its LoRA adapters (each with the base
// as its parent, as vLLM lists them); and which of them a request's "model" names.
#include <chrono>
#include <cstring>

#include "server/reply.h"
#include "server/routes/routes.h"

namespace fathom::server::routes {
namespace {

Status unknown_model(const ServerContext& ctx, const std::string& requested) {
  return not_found("The model `" + requested + "` does not exist. This server serves `" +
                   ctx.options().model_id + "` and the LoRA adapters listed by GET /v1/models.");
}

}  // namespace

Result<std::shared_ptr<const model::lora::LoraAdapter>> resolve_model(
    const ServerContext& ctx, const std::string& requested) {
  if (requested.empty() || requested == ctx.options().model_id)
    return std::shared_ptr<const model::lora::LoraAdapter>();
  LoadedModel* m = ctx.model();
  if (!m || !m->loras || !m->loras->has(requested)) return unknown_model(ctx, requested);
  auto adapter = m->loras->acquire(requested);
  if (!adapter.ok() && adapter.status().code() == Code::kNotFound)
    return unknown_model(ctx, requested);  // unloaded meanwhile
  return adapter;
}

Status check_model_name(const ServerContext& ctx, const std::string& requested) {
  if (requested.empty() || requested == ctx.options().model_id) return ok_status();
  LoadedModel* m = ctx.model();
  if (m && m->loras && m->loras->has(requested)) return ok_status();
  return unknown_model(ctx, requested);
}

namespace {

int64_t created_s() {
  static const int64_t kCreated = std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
  return kCreated;
}

protocol::Json model_object(const ServerContext& ctx) {
  protocol::Json model = {{"id", ctx.options().model_id},    {"object", "model"},
                          {"created", created_s()},          {"owned_by", "fathom"},
                          {"root", ctx.options().model_dir}, {"parent", nullptr}};
  if (LoadedModel* m = ctx.model()) model["max_model_len"] = m->engine->max_model_len();
  return model;
}

protocol::Json adapter_object(const ServerContext& ctx, const model::lora::AdapterInfo& a) {
  protocol::Json model = {{"id", a.name},           {"object", "model"},
                          {"created", created_s()}, {"owned_by", "fathom"},
                          {"root", a.path},         {"parent", ctx.options().model_id}};
  if (LoadedModel* m = ctx.model()) model["max_model_len"] = m->engine->max_model_len();
  return model;
}

}  // namespace

void models(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  protocol::Json data = protocol::Json::array({model_object(ctx)});
  if (LoadedModel* m = ctx.model(); m && m->loras)
    for (const model::lora::AdapterInfo& a : m->loras->list())
      data.push_back(adapter_object(ctx, a));
  reply_json(ctx, *ex, {{"object", "list"}, {"data", std::move(data)}});
}

void model(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  const std::string id =
      net::percent_decode(std::string_view(ex->request().path).substr(std::strlen("/v1/models/")));
  if (id == ctx.options().model_id) return reply_json(ctx, *ex, model_object(ctx));
  if (LoadedModel* m = ctx.model(); m && m->loras)
    for (const model::lora::AdapterInfo& a : m->loras->list())
      if (a.name == id) return reply_json(ctx, *ex, adapter_object(ctx, a));
  reply_error(ctx, *ex, unknown_model(ctx, id));
}

}  // namespace fathom::server::routes
