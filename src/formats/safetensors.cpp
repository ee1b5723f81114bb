#include "formats/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "formats/atomic_write.h"

namespace fathom::formats {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the reference implementation's limit

using json = nlohmann::json;

// Parses one header entry; appends a problem description instead of failing fast.
bool parse_entry(const std::string& name, const json& entry, uint64_t data_size,
                 TensorView& out, std::vector<std::string>& problems) {
  auto bad = [&](const std::string& why) {
    problems.push_back("tensor '" + name + "': " + why);
    return false;
  };
  if (!entry.is_object()) return bad("header entry is not an object");
  auto dt = entry.find("dtype");
  auto sh = entry.find("shape");
  auto off = entry.find("data_offsets");
  if (dt == entry.end() || !dt->is_string()) return bad("missing string field 'dtype'");
  if (sh == entry.end() || !sh->is_array()) return bad("missing array field 'shape'");
  if (off == entry.end() || !off->is_array() || off->size() != 2)
    return bad("'data_offsets' must be [begin, end]");
  auto dtype = parse_safetensors_dtype(dt->get<std::string>());
  if (!dtype) return bad("unknown dtype '" + dt->get<std::string>() + "'");
  out.name = name;
  out.dtype = *dtype;
  out.shape.clear();
  uint64_t numel = 1;
  for (const auto& d : *sh) {
    if (!d.is_number_unsigned()) return bad("shape entries must be non-negative integers");
    uint64_t v = d.get<uint64_t>();
    if (v > (1ull << 40) || (v && numel > std::numeric_limits<uint64_t>::max() / v / 8))
      return bad("shape is absurdly large");
    numel *= v;
    out.shape.push_back(static_cast<int64_t>(v));
  }
  if (!(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned())
    return bad("data_offsets must be non-negative integers");
  const uint64_t begin = (*off)[0].get<uint64_t>(), end = (*off)[1].get<uint64_t>();
  const uint64_t want = numel * static_cast<uint64_t>(dtype_size(*dtype));
  if (end < begin) return bad("data_offsets end < begin");
  if (end - begin != want)
    return bad("shape " + shape_string(out.shape) + " x " + dtype_name(*dtype) + " needs " +
               std::to_string(want) + " bytes but data_offsets span " +
               std::to_string(end - begin));
  if (end > data_size) {
    problems.push_back("");  // counted and summarised by the caller as truncation
    return false;
  }
  out.size_bytes = static_cast<int64_t>(want);
  out.data = reinterpret_cast<const uint8_t*>(begin);  // rebased by the caller
  return true;
}

// One tensor's bytes, as offsets into the data.
struct Span {
  uint64_t begin = 0, end = 0;
  std::string name;
};

// Tensors may not share bytes (the reference implementation refuses that too): a lying header
// would otherwise make one tensor's bytes another's. Empty tensors share nothing.
void check_overlaps(std::vector<Span> spans, std::vector<std::string>& problems) {
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  const Span* furthest = nullptr;  // of the spans so far, the one that ends last
  for (const Span& s : spans) {
    if (s.begin == s.end) continue;
    if (furthest && s.begin < furthest->end)
      problems.push_back("tensor '" + s.name + "': data_offsets [" + std::to_string(s.begin) +
                         ", " + std::to_string(s.end) + "] overlap those of tensor '" +
                         furthest->name + "' [" + std::to_string(furthest->begin) + ", " +
                         std::to_string(furthest->end) + "]");
    if (!furthest || s.end > furthest->end) furthest = &s;
  }
}

}  // namespace

Result<SafetensorsContents> parse_safetensors(const uint8_t* bytes, size_t size,
                                              const std::string& source) {
  SafetensorsContents f;
  if (size < 8)
    return data_loss(source + ": " + std::to_string(size) +
                     " bytes is too short for a safetensors file (truncated?)");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes, 8);
  if (header_len > kMaxHeaderBytes || header_len > size - 8)
    return data_loss(source + ": header length " + std::to_string(header_len) +
                     " exceeds the file size " + std::to_string(size) +
                     " (truncated or not a safetensors file)");
  json header;
  try {
    header = json::parse(bytes + 8, bytes + 8 + header_len);
  } catch (const json::exception& e) {
    return data_loss(source + ": header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) return data_loss(source + ": header is not a JSON object");

  const uint8_t* data = bytes + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  std::vector<std::string> problems;
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (it->is_object())
        for (auto m = it->begin(); m != it->end(); ++m)
          if (m->is_string()) f.metadata[m.key()] = m->get<std::string>();
      continue;
    }
    TensorView t;
    if (!parse_entry(it.key(), *it, data_size, t, problems)) continue;
    const auto begin = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(t.data));
    spans.push_back({begin, begin + static_cast<uint64_t>(t.size_bytes), t.name});
    t.data = data + begin;
    t.file = source;
    const auto align = static_cast<uintptr_t>(dtype_size(t.dtype));
    if (reinterpret_cast<uintptr_t>(t.data) % align != 0) {
      auto copy = std::make_unique<uint8_t[]>(static_cast<size_t>(t.size_bytes));
      std::memcpy(copy.get(), t.data, static_cast<size_t>(t.size_bytes));
      t.data = copy.get();
      f.aligned_copies.push_back(std::move(copy));
    }
    f.tensors.push_back(std::move(t));
  }
  check_overlaps(std::move(spans), problems);
  if (!problems.empty()) {
    const auto num_truncated = std::count(problems.begin(), problems.end(), "");
    std::erase(problems, "");
    std::string msg = source + ": ";
    if (num_truncated > 0) {
      uint64_t want = 0;
      for (auto it = header.begin(); it != header.end(); ++it) {
        const json* off = it->is_object() && it->contains("data_offsets") ? &(*it)["data_offsets"] : nullptr;
        if (off && off->is_array() && off->size() == 2 && (*off)[1].is_number_unsigned())
          want = std::max(want, (*off)[1].get<uint64_t>());
      }
      msg += "file truncated: the header describes " + std::to_string(want) +
             " bytes of tensor data but only " + std::to_string(data_size) + " are present (" +
             std::to_string(num_truncated) + " tensor(s) cut off)";
    }
    if (!problems.empty()) {
      msg += std::string(num_truncated ? "; " : "") + std::to_string(problems.size()) +
             " bad tensor header(s):";
      constexpr size_t kMaxListed = 20;
      for (size_t i = 0; i < problems.size() && i < kMaxListed; ++i) msg += "\n  " + problems[i];
      if (problems.size() > kMaxListed)
        msg += "\n  ... and " + std::to_string(problems.size() - kMaxListed) + " more";
    }
    return data_loss(msg);
  }
  return f;
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  FATHOM_ASSIGN_OR_RETURN(f.file_, MappedFile::open(path));
  FATHOM_ASSIGN_OR_RETURN(f.contents_, parse_safetensors(f.file_.data(), f.file_.size(), path));
  return f;
}

OwnedTensor make_f32_tensor(std::string name, std::vector<int64_t> shape,
                            const std::vector<float>& values) {
  OwnedTensor t{std::move(name), DType::kF32, std::move(shape), {}};
  t.bytes.resize(values.size() * sizeof(float));
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

Status write_safetensors(const std::string& path, const std::vector<OwnedTensor>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    if (static_cast<uint64_t>(numel) * dtype_size(t.dtype) != t.bytes.size())
      return invalid_argument("write_safetensors: tensor '" + t.name + "' has " +
                              std::to_string(t.bytes.size()) + " bytes for shape " +
                              shape_string(t.shape));
    header[t.name] = {{"dtype", dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  return write_file_atomically(path, [&](std::ostream& out) {
    uint64_t n = h.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (const auto& t : tensors)
      out.write(reinterpret_cast<const char*>(t.bytes.data()),
                static_cast<std::streamsize>(t.bytes.size()));
  });
}

}  // namespace fathom::formats
