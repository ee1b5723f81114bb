// POST /v1/load_lora_adapter {lora_name, lora_path} and POST /v1/unload_lora_adapter
// {lora_name}: vLLM's runtime LoRA routes, with its success texts and status codes (400 for bad
// fields or a name already loaded, 404 for an unknown adapter or folder). Off unless the server
// runs with --allow-runtime-lora (or VLLM_ALLOW_RUNTIME_LORA_UPDATING=true), as in vLLM.
#include "server/reply.h"
#include "server/routes/routes.h"

namespace fathom::server::routes {
namespace {

Status check_enabled(const ServerContext& ctx) {
  if (ctx.options().allow_runtime_lora) return ok_status();
  return not_found(
      "runtime LoRA updating is disabled; start fathom serve with --allow-runtime-lora "
      "(or VLLM_ALLOW_RUNTIME_LORA_UPDATING=true)");
}

/// The body's lora_name: a non-empty string of printable characters, not the base model's id.
Result<std::string> lora_name(const ServerContext& ctx, const protocol::Json& body) {
  FATHOM_ASSIGN_OR_RETURN(std::optional<std::string> name, protocol::get_string(body, "lora_name"));
  if (!name || name->empty()) return invalid_argument("lora_name: required (a non-empty string)");
  if (name->size() > 256) return invalid_argument("lora_name: longer than 256 characters");
  for (unsigned char c : *name)
    if (c < 0x20 || c == 0x7f) return invalid_argument("lora_name: contains a control character");
  if (*name == ctx.options().model_id)
    return invalid_argument("lora_name: '" + *name + "' is the base model's name");
  return *name;
}

/// The enabled check, the JSON body and its lora_name: what both routes start with.
struct LoraRequest {
  protocol::Json body;
  std::string name;
};
Result<LoraRequest> parse_lora_request(const ServerContext& ctx, const net::Exchange& ex) {
  FATHOM_RETURN_IF_ERROR(check_enabled(ctx));
  FATHOM_ASSIGN_OR_RETURN(protocol::Json body, protocol::parse_json_object(ex.request().body));
  FATHOM_ASSIGN_OR_RETURN(std::string name, lora_name(ctx, body));
  return LoraRequest{std::move(body), std::move(name)};
}

void reply_text(ServerContext& ctx, net::Exchange& ex, std::string text) {
  net::HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(text);
  reply(ctx, ex, std::move(r));
}

}  // namespace

void load_lora_adapter(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  Result<LoraRequest> req = parse_lora_request(ctx, *ex);
  if (!req.ok()) return reply_error(ctx, *ex, req.status());
  Result<std::optional<std::string>> path = protocol::get_string(req->body, "lora_path");
  if (!path.ok()) return reply_error(ctx, *ex, path.status());
  if (!*path || (*path)->empty())
    return reply_error(
        ctx, *ex, invalid_argument("lora_path: required (the adapter's folder on the server)"));
  // Note: reads the adapter on this I/O thread; adapters are small next to the base model.
  if (Status s = ctx.model()->loras->add(req->name, **path); !s.ok())
    return reply_error(ctx, *ex, s);
  reply_text(ctx, *ex, "Success: LoRA adapter '" + req->name + "' added successfully.");
}

void unload_lora_adapter(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  Result<LoraRequest> req = parse_lora_request(ctx, *ex);
  if (!req.ok()) return reply_error(ctx, *ex, req.status());
  if (Status s = ctx.model()->loras->remove(req->name); !s.ok()) return reply_error(ctx, *ex, s);
  reply_text(ctx, *ex, "Success: LoRA adapter '" + req->name + "' removed successfully.");
}

}  // namespace fathom::server::routes
