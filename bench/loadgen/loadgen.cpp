// fathom_loadgen: an open-loop, fixed-rate HTTP/1.1 load generator (like wrk2: latency counts
// from when a request was due, not from when a free connection sent it), plus a
// concurrent-streams mode that holds K server-sent-event streams open. See print_usage.
//
// This file: start-up (flags, file descriptor limit, resolving, serialising the request).
// rate_mode.cpp and streams_mode.cpp run the load; http_conn.cpp is the client connection.
#include <sys/resource.h>

#include <cstdio>
#include <optional>
#include <string>

#include "modes.h"
#include "options.h"

namespace fathom::loadgen {

namespace {

// Raises the soft RLIMIT_NOFILE to the hard limit; false (with a message) when `needed`
// descriptors still do not fit.
bool raise_fd_limit(int64_t needed) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return true;  // unknown: let connect errors tell
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur != RLIM_INFINITY && static_cast<int64_t>(lim.rlim_cur) < needed) {
    std::fprintf(stderr,
                 "fathom_loadgen: needs about %lld file descriptors, but RLIMIT_NOFILE allows %llu "
                 "(hard limit %llu); raise it (ulimit -Hn, /etc/security/limits.conf) or ask for less\n",
                 static_cast<long long>(needed), static_cast<unsigned long long>(lim.rlim_cur),
                 static_cast<unsigned long long>(lim.rlim_max));
    return false;
  }
  return true;
}

bool has_header(const Options& opt, std::string_view name) {
  for (const std::string& h : opt.headers)
    if (h.size() > name.size() && h[name.size()] == ':' && starts_with_nocase(h, name))
      return true;
  return false;
}

std::string serialise_request(const Options& opt) {
  std::string r = opt.method + " " + opt.path + " HTTP/1.1\r\n";
  if (!has_header(opt, "host")) r += "Host: " + opt.host + ":" + std::to_string(opt.port) + "\r\n";
  for (const std::string& h : opt.headers) r += h + "\r\n";
  if (opt.has_body && !has_header(opt, "content-type")) r += "Content-Type: application/json\r\n";
  if (opt.has_body || opt.method == "POST" || opt.method == "PUT" || opt.method == "PATCH")
    r += "Content-Length: " + std::to_string(opt.body.size()) + "\r\n";
  r += "\r\n";
  r += opt.body;
  return r;
}

bool resolve(const Options& opt, Target& target) {
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::error_code ec;
  const auto results = resolver.resolve(opt.host, std::to_string(opt.port), ec);
  if (ec || results.empty()) {
    std::fprintf(stderr, "fathom_loadgen: cannot resolve %s: %s\n", opt.host.c_str(), ec.message().c_str());
    return false;
  }
  for (const auto& entry : results) target.endpoints.push_back(entry.endpoint());
  return true;
}

}  // namespace

}  // namespace fathom::loadgen

int main(int argc, char** argv) {
  using namespace fathom::loadgen;
  std::string error;
  const std::optional<Options> opt = parse_options(argc, argv, error);
  if (!opt) {
    std::fprintf(stderr, "fathom_loadgen: %s\n\n", error.c_str());
    print_usage(stderr);
    return 2;
  }
  if (opt->help) {
    print_usage(stdout);
    return 0;
  }
  const int64_t sockets = opt->streams > 0 ? opt->streams : opt->connections;
  if (!raise_fd_limit(sockets + 64)) return 1;

  Target target;
  if (!resolve(*opt, target)) return 1;
  target.request = serialise_request(*opt);
  target.head_method = opt->method == "HEAD";
  return opt->streams > 0 ? run_streams(*opt, target) : run_rate(*opt, target);
}
