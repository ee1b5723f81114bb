// fathom tokenize / detokenize / chat-template: the model folder's own tokenizer and chat
// template on stdin/stdout, one JSON value per line (see src/tokenizer/README.md).
//
//   fathom tokenize --model DIR [--no-special]     JSON string per line -> JSON array of ids
//   fathom detokenize --model DIR [--skip-special] JSON array of ids per line -> JSON string
//   fathom chat-template --model DIR [--add-generation-prompt] [--tools FILE] [--kwargs JSON]
//                                                  JSON list of messages (whole stdin) -> text
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/args.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace fathom::cli {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

int fail(const std::string& command, const Status& status) {
  std::fprintf(stderr, "fathom %s: %s\n", command.c_str(), status.to_string().c_str());
  return 1;
}

bool wants_help(const std::vector<std::string>& args) {
  for (const std::string& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

Result<tokenizer::Tokenizer> load_tokenizer(const Args& args) {
  FATHOM_ASSIGN_OR_RETURN(std::string dir, args.required("model"));
  return tokenizer::Tokenizer::load(dir);
}

// Output JSON keeps non-ASCII text as UTF-8; invalid bytes cannot occur (decode is lossy).
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

int run_tokenize(const std::vector<std::string>& argv) {
  if (wants_help(argv)) {
    std::printf(
        "usage: fathom tokenize --model DIR [--no-special]\n"
        "Reads one JSON string per line on stdin, writes one JSON array of token ids per line.\n"
        "--no-special: do not add BOS/EOS (special-token text in the input is still parsed).\n");
    return 0;
  }
  Result<Args> args = Args::parse(argv, {"model"}, {"no-special"});
  if (!args.ok()) return fail("tokenize", args.status());
  Result<tokenizer::Tokenizer> tok = load_tokenizer(*args);
  if (!tok.ok()) return fail("tokenize", tok.status());
  const bool add_special = !args->has("no-special");
  std::string line;
  int64_t line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    const json text = json::parse(line, nullptr, false);
    if (text.is_discarded() || !text.is_string()) {
      return fail("tokenize", invalid_argument("stdin line " + std::to_string(line_no) +
                                               ": expected a JSON string"));
    }
    Result<std::vector<int32_t>> ids = tok->encode(text.get_ref<const std::string&>(), add_special);
    if (!ids.ok())
      return fail("tokenize", ids.status().with_context("stdin line " + std::to_string(line_no)));
    std::cout << dump(json(*ids)) << '\n';
  }
  std::cout.flush();
  return 0;
}

int run_detokenize(const std::vector<std::string>& argv) {
  if (wants_help(argv)) {
    std::printf(
        "usage: fathom detokenize --model DIR [--skip-special]\n"
        "Reads one JSON array of token ids per line on stdin, writes one JSON string per line.\n");
    return 0;
  }
  Result<Args> args = Args::parse(argv, {"model"}, {"skip-special"});
  if (!args.ok()) return fail("detokenize", args.status());
  Result<tokenizer::Tokenizer> tok = load_tokenizer(*args);
  if (!tok.ok()) return fail("detokenize", tok.status());
  const bool skip = args->has("skip-special");
  std::string line;
  int64_t line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    const json ids = json::parse(line, nullptr, false);
    bool ok = !ids.is_discarded() && ids.is_array();
    std::vector<int32_t> v;
    if (ok) {
      for (const json& id : ids) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
            id.get<int64_t>() >= tok->vocab_size()) {
          ok = false;
          break;
        }
        v.push_back(id.get<int32_t>());
      }
    }
    if (!ok) {
      return fail("detokenize", invalid_argument("stdin line " + std::to_string(line_no) +
                                                 ": expected a JSON array of ids in [0, " +
                                                 std::to_string(tok->vocab_size()) + ")"));
    }
    std::cout << dump(json(tok->decode(v, skip))) << '\n';
  }
  std::cout.flush();
  return 0;
}

int run_chat_template(const std::vector<std::string>& argv) {
  if (wants_help(argv)) {
    std::printf(
        "usage: fathom chat-template --model DIR [--add-generation-prompt] [--tools FILE] "
        "[--kwargs JSON]\n"
        "Renders the JSON list of messages on stdin with the model's chat template; writes the "
        "text.\n"
        "--tools FILE: a JSON list of tool schemas. --kwargs: a JSON object of extra template "
        "variables.\n");
    return 0;
  }
  Result<Args> args = Args::parse(argv, {"model", "tools", "kwargs"}, {"add-generation-prompt"});
  if (!args.ok()) return fail("chat-template", args.status());
  Result<tokenizer::Tokenizer> tok = load_tokenizer(*args);
  if (!tok.ok()) return fail("chat-template", tok.status());
  Result<tokenizer::ChatTemplate> tmpl = tokenizer::ChatTemplate::from_tokenizer(*tok);
  if (!tmpl.ok()) return fail("chat-template", tmpl.status());
  const std::string input((std::istreambuf_iterator<char>(std::cin)),
                          std::istreambuf_iterator<char>());
  const ordered_json messages = ordered_json::parse(input, nullptr, false);
  if (messages.is_discarded() || !messages.is_array()) {
    return fail("chat-template", invalid_argument("stdin: expected a JSON list of messages"));
  }
  ordered_json tools = nullptr;
  if (auto path = args->get("tools")) {
    std::ifstream in(*path);
    tools = ordered_json::parse(in, nullptr, false);
    if (!in || tools.is_discarded() || !tools.is_array()) {
      return fail("chat-template", invalid_argument("--tools " + *path + ": expected a JSON list"));
    }
  }
  tokenizer::ChatRenderOptions options;
  options.add_generation_prompt = args->has("add-generation-prompt");
  if (auto kwargs = args->get("kwargs")) {
    options.extra_kwargs = ordered_json::parse(*kwargs, nullptr, false);
    if (options.extra_kwargs.is_discarded() || !options.extra_kwargs.is_object()) {
      return fail("chat-template", invalid_argument("--kwargs: expected a JSON object"));
    }
  }
  Result<std::string> text = tokenizer::render_chat(*tmpl, messages, tools, options);
  if (!text.ok()) return fail("chat-template", text.status());
  std::cout << *text;
  std::cout.flush();
  return 0;
}

}  // namespace fathom::cli
