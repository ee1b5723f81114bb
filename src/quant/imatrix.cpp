#include "quant/imatrix.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>

namespace fathom::quant {
namespace {

// Little-endian reads over the untrusted bytes, each naming what it reads in its error.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  size_t left() const { return b_.size() - at_; }
  bool done() const { return at_ == b_.size(); }
  Result<int32_t> i32(const std::string& what) {
    if (left() < 4) return data_loss("imatrix: truncated at " + what);
    int32_t v;
    std::memcpy(&v, b_.data() + at_, 4);
    at_ += 4;
    return v;
  }
  Result<std::string_view> bytes(size_t n, const std::string& what) {
    if (left() < n)
      return data_loss("imatrix: " + what + " needs " + std::to_string(n) + " bytes, " +
                       std::to_string(left()) + " left");
    std::string_view v = b_.substr(at_, n);
    at_ += n;
    return v;
  }

 private:
  std::string_view b_;
  size_t at_ = 0;
};

void put_i32(std::string& out, int32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }

Result<std::pair<std::string, ImatrixEntry>> parse_entry(Reader& r, int32_t i) {
  const std::string at = "entry " + std::to_string(i);
  FATHOM_ASSIGN_OR_RETURN(int32_t len, r.i32(at + " name length"));
  if (len <= 0) return data_loss("imatrix: " + at + " name length " + std::to_string(len));
  FATHOM_ASSIGN_OR_RETURN(std::string_view raw_name,
                          r.bytes(static_cast<size_t>(len), at + " name"));
  // llama-quantize reads the name as a C string: it ends at the first NUL.
  const std::string_view name = raw_name.substr(0, raw_name.find('\0'));
  if (name.empty()) return data_loss("imatrix: " + at + " has an empty name");
  const std::string where = at + " (" + std::string(name) + ")";
  ImatrixEntry e;
  FATHOM_ASSIGN_OR_RETURN(e.ncall, r.i32(where + " ncall"));
  if (e.ncall < 0) return data_loss("imatrix: " + where + " ncall " + std::to_string(e.ncall));
  FATHOM_ASSIGN_OR_RETURN(int32_t nval, r.i32(where + " nval"));
  if (nval <= 0) return data_loss("imatrix: " + where + " nval " + std::to_string(nval));
  FATHOM_ASSIGN_OR_RETURN(std::string_view raw,
                          r.bytes(static_cast<size_t>(nval) * 4, where + " values"));
  e.values.resize(static_cast<size_t>(nval));
  std::memcpy(e.values.data(), raw.data(), raw.size());
  for (int32_t j = 0; j < nval; ++j) {
    float& v = e.values[j];
    if (!std::isfinite(v) || v < 0)
      return data_loss("imatrix: " + where + " value " + std::to_string(j) + " is " +
                       std::to_string(v) + " (a mean of squares is finite and >= 0)");
    if (e.ncall > 0) v /= static_cast<float>(e.ncall);  // stored as the mean times ncall
  }
  return std::pair{std::string(name), std::move(e)};
}

}  // namespace

Result<Imatrix> parse_imatrix(std::string_view bytes) {
  Reader r(bytes);
  FATHOM_ASSIGN_OR_RETURN(int32_t n, r.i32("the entry count"));
  // Each entry takes at least 17 bytes: a bound on the count before anything is allocated.
  if (n < 1 || static_cast<size_t>(n) > r.left() / 17)
    return data_loss("imatrix: entry count " + std::to_string(n) + " does not fit " +
                     std::to_string(bytes.size()) + " bytes");
  Imatrix m;
  for (int32_t i = 0; i < n; ++i) {
    FATHOM_ASSIGN_OR_RETURN(auto entry, parse_entry(r, i));
    if (!m.entries.emplace(entry.first, std::move(entry.second)).second)
      return data_loss("imatrix: entry " + std::to_string(i) + " repeats the name " + entry.first);
  }
  if (r.done()) return m;  // files before the dataset trailer end here
  FATHOM_ASSIGN_OR_RETURN(m.chunks, r.i32("the chunk count"));
  if (m.chunks < 0) return data_loss("imatrix: chunk count " + std::to_string(m.chunks));
  FATHOM_ASSIGN_OR_RETURN(int32_t len, r.i32("the dataset name length"));
  if (len < 0) return data_loss("imatrix: dataset name length " + std::to_string(len));
  FATHOM_ASSIGN_OR_RETURN(std::string_view dataset,
                          r.bytes(static_cast<size_t>(len), "the dataset name"));
  m.dataset = dataset;
  if (!r.done())
    return data_loss("imatrix: " + std::to_string(r.left()) + " bytes after the dataset name");
  return m;
}

std::string serialize_imatrix(const Imatrix& m) {
  std::string out;
  put_i32(out, static_cast<int32_t>(m.entries.size()));
  for (const auto& [name, e] : m.entries) {
    put_i32(out, static_cast<int32_t>(name.size()));
    out += name;
    put_i32(out, e.ncall);
    put_i32(out, static_cast<int32_t>(e.values.size()));
    for (float v : e.values) {
      const float stored = e.ncall > 0 ? v * static_cast<float>(e.ncall) : v;
      out.append(reinterpret_cast<const char*>(&stored), 4);
    }
  }
  put_i32(out, m.chunks);
  put_i32(out, static_cast<int32_t>(m.dataset.size()));
  out += m.dataset;
  return out;
}

Result<Imatrix> read_imatrix(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("--imatrix: cannot open " + path);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto m = parse_imatrix(bytes);
  if (!m.ok()) return data_loss("--imatrix: " + path + ": " + m.status().message());
  return m;
}

Status write_imatrix(const std::string& path, const Imatrix& m) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const std::string bytes = serialize_imatrix(m);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return internal_error("--imatrix-out: cannot write " + path);
  return ok_status();
}

std::string gguf_linear_name(const std::string& hf_prefix) {
  int layer = -1, used = 0;
  if (std::sscanf(hf_prefix.c_str(), "model.layers.%d.%n", &layer, &used) != 1 || used == 0)
    return {};
  const std::string rest = hf_prefix.substr(static_cast<size_t>(used));
  static const std::pair<const char*, const char*> kNames[] = {
      {"self_attn.q_proj", "attn_q"},
      {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},
      {"self_attn.o_proj", "attn_output"},
      {"self_attn.q_a_proj", "attn_q_a"},
      {"self_attn.q_b_proj", "attn_q_b"},
      {"self_attn.kv_a_proj_with_mqa", "attn_kv_a_mqa"},
      {"mlp.gate_proj", "ffn_gate"},
      {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"},
      {"mlp.shared_experts.gate_proj", "ffn_gate_shexp"},
      {"mlp.shared_experts.up_proj", "ffn_up_shexp"},
      {"mlp.shared_experts.down_proj", "ffn_down_shexp"},
  };
  for (const auto& [hf, gguf] : kNames)
    if (rest == hf) return "blk." + std::to_string(layer) + "." + gguf + ".weight";
  return {};
}

}  // namespace fathom::quant
