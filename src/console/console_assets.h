// The web console (docs/console.md): its built files (web/dist) are compiled into the binary,
// so `fathom serve` and `fathom gateway` serve it with no install folder, CDN or network.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "net/http_message.h"

namespace fathom::console {

struct EmbeddedFile {
  std::string_view path;  ///< relative to web/dist: "index.html", "assets/chat-1a2b3c.js"
  std::string_view bytes;
};

/// Every embedded file (generated from web/dist by cmake/embed_console.cmake).
std::span<const EmbeddedFile> embedded_files();

/// The file at `path` (relative to web/dist); nullptr when there is none.
const EmbeddedFile* find_file(std::string_view path);

/// GET of the console file `path` ("" is index.html): its bytes with content type, cache and
/// security headers (a strict Content-Security-Policy: scripts and styles from the page's own
/// origin only, so nothing a model writes can run); nullopt when there is no such file.
std::optional<net::HttpResponse> file_response(std::string_view path);

}  // namespace fathom::console
