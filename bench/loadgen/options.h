// Command line of fathom_loadgen (see print_usage for the flags).
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace fathom::loadgen {

struct Options {
  // --url http://HOST[:PORT][/PATH], split up
  std::string host;
  uint16_t port = 80;
  std::string path = "/";

  std::string method;                ///< default: POST with a body, GET without
  std::vector<std::string> headers;  ///< "Name: value", as given
  std::string body;
  bool has_body = false;

  double rate = 0;   ///< requests/s (fixed-rate mode); 0 in streams mode
  int streams = 0;   ///< concurrent streams (streams mode); 0 in rate mode
  double duration_s = 10;
  double warmup_s = 2;
  int connections = 64;  ///< rate mode only
  int threads = 1;
  int64_t timeout_ms = 10'000;
  bool help = false;
};

/// Parses argv. On a bad command line returns nullopt and sets `error` to one sentence.
std::optional<Options> parse_options(int argc, char** argv, std::string& error);

void print_usage(std::FILE* out);

}  // namespace fathom::loadgen
