#include "console/console_assets.h"

#include <array>
#include <utility>

namespace fathom::console {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kContentTypes = {{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
}};

std::string_view content_type(std::string_view path) {
  for (const auto& [ext, type] : kContentTypes)
    if (path.ends_with(ext)) return type;
  return "application/octet-stream";
}

// Pages may load scripts, styles and images from their own origin and talk to it; nothing
// inline, nothing from elsewhere, no frames.
constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src "
    "'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

}  // namespace

const EmbeddedFile* find_file(std::string_view path) {
  for (const EmbeddedFile& f : embedded_files())
    if (f.path == path) return &f;
  return nullptr;
}

std::optional<net::HttpResponse> file_response(std::string_view path) {
  if (path.empty()) path = "index.html";
  const EmbeddedFile* f = find_file(path);
  if (!f) return std::nullopt;
  net::HttpResponse r;
  r.content_type = std::string(content_type(path));
  r.body = std::string(f->bytes);
  r.headers.push_back({"x-content-type-options", "nosniff"});
  r.headers.push_back({"referrer-policy", "no-referrer"});
  if (path.ends_with(".html")) {
    r.headers.push_back({"content-security-policy", std::string(kCsp)});
    r.headers.push_back({"cache-control", "no-cache"});
  } else if (path.starts_with("assets/")) {  // vite names them by content hash
    r.headers.push_back({"cache-control", "public, max-age=31536000, immutable"});
  }
  return r;
}

}  // namespace fathom::console
