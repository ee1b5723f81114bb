#include "options.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string_view>

namespace fathom::loadgen {

namespace {

bool parse_number(std::string_view text, double& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && std::isfinite(out);
}

bool parse_number(std::string_view text, int64_t& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

// http://HOST[:PORT][/PATH]; no https, no user info, no IPv6 literals.
bool parse_url(std::string_view url, Options& opt, std::string& error) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    error = "--url must start with http:// (https is not supported): " + std::string(url);
    return false;
  }
  url.remove_prefix(kScheme.size());
  const size_t slash = url.find('/');
  const std::string_view authority = url.substr(0, slash);
  opt.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  const size_t colon = authority.rfind(':');
  opt.host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) {
    int64_t port = 0;
    if (!parse_number(authority.substr(colon + 1), port) || port < 1 || port > 65535) {
      error = "--url has a bad port: " + std::string(authority);
      return false;
    }
    opt.port = static_cast<uint16_t>(port);
  }
  if (opt.host.empty()) {
    error = "--url has no host";
    return false;
  }
  return true;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

}  // namespace

void print_usage(std::FILE* out) {
  std::fputs(
      "usage:\n"
      "  fathom_loadgen --url http://HOST:PORT/PATH [--method M] [--header 'Name: value']...\n"
      "      [--body JSON | --body-file F] --rate R [--duration S] [--warmup S]\n"
      "      [--connections N] [--threads T] [--timeout-ms MS]\n"
      "  fathom_loadgen --url ... --body '{\"stream\":true,...}' --streams K [--duration S] ...\n"
      "\n"
      "  --rate R         open-loop: R requests/s scheduled at fixed times over --connections\n"
      "                   keep-alive connections; latency counts from the scheduled time\n"
      "  --streams K      keep K streaming requests open at all times (one connection each)\n"
      "  --duration S     measured seconds (default 10)\n"
      "  --warmup S       seconds run before measuring, not recorded (default 2)\n"
      "  --connections N  rate mode connection pool (default 64)\n"
      "  --threads T      I/O threads, each with its own share of the load (default 1)\n"
      "  --timeout-ms MS  per request, from send to last byte (default 10000)\n"
      "Prints a summary and a final 'RESULT ...' line.\n",
      out);
}

std::optional<Options> parse_options(int argc, char** argv, std::string& error) {
  Options opt;
  bool have_url = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    std::string_view value;
    bool inline_value = false;
    if (const size_t eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      inline_value = true;
    }
    if (flag == "--help" || flag == "-h") {
      opt.help = true;
      return opt;
    }
    if (!inline_value) {
      if (i + 1 >= argc) {
        error = "missing value after " + std::string(flag);
        return std::nullopt;
      }
      value = argv[++i];
    }
    const auto bad = [&](const char* what) {
      error = std::string(flag) + " " + what + ", got '" + std::string(value) + "'";
      return std::nullopt;
    };
    double d = 0;
    int64_t n = 0;
    if (flag == "--url") {
      if (!parse_url(value, opt, error)) return std::nullopt;
      have_url = true;
    } else if (flag == "--method") {
      if (value.empty()) return bad("needs a method");
      opt.method = std::string(value);
    } else if (flag == "--header") {
      const size_t colon = value.find(':');
      if (colon == 0 || colon == std::string_view::npos || value.find_first_of("\r\n") != std::string_view::npos)
        return bad("needs 'Name: value'");
      opt.headers.emplace_back(value);
    } else if ((flag == "--body" || flag == "--body-file") && opt.has_body) {
      error = "give only one of --body and --body-file";
      return std::nullopt;
    } else if (flag == "--body") {
      opt.body = std::string(value);
      opt.has_body = true;
    } else if (flag == "--body-file") {
      if (!read_file(std::string(value), opt.body)) return bad("cannot be read");
      opt.has_body = true;
    } else if (flag == "--rate") {
      if (!parse_number(value, d) || d <= 0) return bad("needs a positive number");
      opt.rate = d;
    } else if (flag == "--streams") {
      if (!parse_number(value, n) || n < 1 || n > 1'000'000) return bad("needs a positive integer");
      opt.streams = static_cast<int>(n);
    } else if (flag == "--duration") {
      if (!parse_number(value, d) || d <= 0) return bad("needs positive seconds");
      opt.duration_s = d;
    } else if (flag == "--warmup") {
      if (!parse_number(value, d) || d < 0) return bad("needs seconds >= 0");
      opt.warmup_s = d;
    } else if (flag == "--connections") {
      if (!parse_number(value, n) || n < 1 || n > 1'000'000) return bad("needs a positive integer");
      opt.connections = static_cast<int>(n);
    } else if (flag == "--threads") {
      if (!parse_number(value, n) || n < 1 || n > 256) return bad("needs an integer in 1..256");
      opt.threads = static_cast<int>(n);
    } else if (flag == "--timeout-ms") {
      if (!parse_number(value, n) || n < 1) return bad("needs a positive integer");
      opt.timeout_ms = n;
    } else {
      error = "unknown flag " + std::string(flag);
      return std::nullopt;
    }
  }

  if (!have_url) error = "--url is required";
  else if ((opt.rate > 0) == (opt.streams > 0)) error = "give exactly one of --rate and --streams";
  if (!error.empty()) return std::nullopt;
  if (opt.method.empty()) opt.method = opt.has_body ? "POST" : "GET";
  const int units = opt.rate > 0 ? opt.connections : opt.streams;
  if (opt.threads > units) {
    error = "--threads " + std::to_string(opt.threads) + " is more than the " + std::to_string(units) +
            (opt.rate > 0 ? " connections" : " streams") + " to share out";
    return std::nullopt;
  }
  return opt;
}

}  // namespace fathom::loadgen
