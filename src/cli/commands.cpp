#include "cli/command.h"

namespace fathom::cli {

// One function per subcommand, each in its own cmd_*.cpp file.
int run_logits(const std::vector<std::string>& args);
int run_generate(const std::vector<std::string>& args);
int run_tokenize(const std::vector<std::string>& args);
int run_detokenize(const std::vector<std::string>& args);
int run_chat_template(const std::vector<std::string>& args);
int run_serve(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);
int run_gateway(const std::vector<std::string>& args);
int run_keys(const std::vector<std::string>& args);
int run_billing(const std::vector<std::string>& args);
int run_audit(const std::vector<std::string>& args);
int run_plan(const std::vector<std::string>& args);
int run_perplexity(const std::vector<std::string>& args);
int run_quantize(const std::vector<std::string>& args);
int run_prune(const std::vector<std::string>& args);
int run_gguf_convert(const std::vector<std::string>& args);

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"logits", "write the logits of a token sequence to a safetensors file", &run_logits},
      {"generate", "generate tokens from a prompt", &run_generate},
      {"tokenize", "encode JSON strings from stdin to token ids with a model's tokenizer",
       &run_tokenize},
      {"detokenize", "decode JSON id arrays from stdin to text", &run_detokenize},
      {"chat-template", "render a JSON list of messages with a model's chat template",
       &run_chat_template},
      {"gguf-convert", "write a Hugging Face model folder as one GGUF file (any GGML type)",
       &run_gguf_convert},
      {"serve", "OpenAI-compatible model server (chat, completions, metrics)", &run_serve},
      {"perplexity", "perplexity over text, and KL divergence / top-1 agreement against --base",
       &run_perplexity},
      {"quantize", "quantize a model folder: GPTQ, AWQ, round-to-nearest 4-bit or int8",
       &run_quantize},
      {"prune", "prune a model folder: magnitude or Wanda, unstructured, 2:4 or structured width",
       &run_prune},
      {"bench",
       "benchmarks: 'bench serve' load-tests a running server, 'bench model' times a model",
       &run_bench},
      {"gateway", "API gateway: keys, quotas, billing, load balancing, breakers", &run_gateway},
      {"keys", "create, list or revoke gateway API keys", &run_keys},
      {"billing", "'billing report': a tenant's usage and cost for a month", &run_billing},
      {"audit",
       "'audit verify FILE': check the audit log's hash chain; 'audit zones --config F --month M': "
       "prove no sensitive request was served in a cloud zone",
       &run_audit},
      {"plan",
       "choose the deployment mode, size the hardware and compare three-year costs; "
       "'plan calibrate' measures this machine",
       &run_plan},
  };
  return kCommands;
}

}  // namespace fathom::cli
