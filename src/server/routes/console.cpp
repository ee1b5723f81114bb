// GET / and /assets/*: the web console's chat playground (docs/console.md), from the files
// compiled into the binary. Open like /health: the page holds no secret, and the API calls it
// makes carry the user's key.
#include "console/console_assets.h"
#include "server/error_mapping.h"
#include "server/reply.h"
#include "server/routes/routes.h"

namespace fathom::server::routes {

void console(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  const std::string& path = ex->request().path;
  auto page = console::file_response(std::string_view(path).substr(1));
  if (!page) return reply(ctx, *ex, http_error_response(404, "no route for GET " + path));
  reply(ctx, *ex, std::move(*page));
}

}  // namespace fathom::server::routes
