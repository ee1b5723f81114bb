#include "formats/gguf.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <unordered_set>

namespace fathom::formats {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr uint64_t kMaxNameBytes = 63;   // GGML_MAX_NAME - 1
constexpr int64_t kMaxDim = int64_t{1} << 40;
constexpr uint64_t kDefaultAlignment = 32;

int64_t element_bytes(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kU16:
    case GgufValueType::kI16:
      return 2;
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kF32:
      return 4;
    case GgufValueType::kU64:
    case GgufValueType::kI64:
    case GgufValueType::kF64:
      return 8;
    case GgufValueType::kString:
      return 8;  // at least its length
    case GgufValueType::kArray:
      return 12;  // at least its type and count
  }
  return 1;
}

// Reads fields front to back; every read is bounds-checked, and the first failure is kept with
// the field it was reading and its byte offset.
class Reader {
 public:
  Reader(const uint8_t* bytes, size_t size, const std::string& source)
      : p_(bytes), size_(size), source_(source) {}

  size_t pos() const { return pos_; }
  size_t left() const { return size_ - pos_; }
  bool failed() const { return !error_.empty(); }
  Status status() const { return data_loss(error_); }

  bool fail(const std::string& field, const std::string& why) {
    if (error_.empty())
      error_ = source_ + ": " + field + " (at byte " + std::to_string(field_start_) + "): " + why;
    return false;
  }

  template <typename T>
  bool read(const std::string& field, T& out) {
    if (failed()) return false;
    field_start_ = pos_;
    if (left() < sizeof(T))
      return fail(field, "needs " + std::to_string(sizeof(T)) + " bytes but the file has " +
                             std::to_string(left()) + " left (truncated?)");
    std::memcpy(&out, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }

  bool string(const std::string& field, std::string& out, uint64_t max_len) {
    uint64_t len = 0;
    if (!read(field + " length", len)) return false;
    if (len > left())
      return fail(field, "length " + std::to_string(len) + " exceeds the " +
                             std::to_string(left()) + " bytes left in the file");
    if (len > max_len)
      return fail(
          field, "length " + std::to_string(len) + " exceeds the limit " + std::to_string(max_len));
    out.assign(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return true;
  }

 private:
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  size_t field_start_ = 0;  ///< where the field being read starts (named in errors)
  const std::string& source_;
  std::string error_;
};

bool valid_value_type(uint32_t raw) { return raw <= static_cast<uint32_t>(GgufValueType::kF64); }

// One scalar of type t into integer / real / text.
bool read_scalar(Reader& r, const std::string& field, GgufValueType t, int64_t& integer,
                 double& real, std::string& text) {
  switch (t) {
    case GgufValueType::kU8: {
      uint8_t v;
      if (!r.read(field, v)) return false;
      integer = v;
      return true;
    }
    case GgufValueType::kI8: {
      int8_t v;
      if (!r.read(field, v)) return false;
      integer = v;
      return true;
    }
    case GgufValueType::kU16: {
      uint16_t v;
      if (!r.read(field, v)) return false;
      integer = v;
      return true;
    }
    case GgufValueType::kI16: {
      int16_t v;
      if (!r.read(field, v)) return false;
      integer = v;
      return true;
    }
    case GgufValueType::kU32: {
      uint32_t v;
      if (!r.read(field, v)) return false;
      integer = v;
      return true;
    }
    case GgufValueType::kI32: {
      int32_t v;
      if (!r.read(field, v)) return false;
      integer = v;
      return true;
    }
    case GgufValueType::kI64: {
      int64_t v;
      if (!r.read(field, v)) return false;
      integer = v;
      return true;
    }
    case GgufValueType::kU64: {
      uint64_t v;
      if (!r.read(field, v)) return false;
      integer = static_cast<int64_t>(std::min<uint64_t>(v, std::numeric_limits<int64_t>::max()));
      return true;
    }
    case GgufValueType::kBool: {
      uint8_t v;
      if (!r.read(field, v)) return false;
      if (v > 1) return r.fail(field, "bool value " + std::to_string(v) + " is neither 0 nor 1");
      integer = v;
      return true;
    }
    case GgufValueType::kF32: {
      float v;
      if (!r.read(field, v)) return false;
      real = v;
      return true;
    }
    case GgufValueType::kF64: {
      double v;
      if (!r.read(field, v)) return false;
      real = v;
      return true;
    }
    case GgufValueType::kString:
      return r.string(field, text, std::numeric_limits<uint64_t>::max());
    case GgufValueType::kArray:
      return r.fail(field, "nested arrays are not supported");
  }
  return r.fail(field, "unknown value type");
}

bool read_value(Reader& r, const std::string& key, GgufValue& v) {
  uint32_t raw = 0;
  const std::string field = "metadata '" + key + "'";
  if (!r.read(field + " value type", raw)) return false;
  if (!valid_value_type(raw))
    return r.fail(field + " value type", std::to_string(raw) + " is not a GGUF value type (0..12)");
  v.type = static_cast<GgufValueType>(raw);
  if (v.type != GgufValueType::kArray)
    return read_scalar(r, field, v.type, v.integer, v.real, v.text);

  if (!r.read(field + " array element type", raw)) return false;
  if (!valid_value_type(raw))
    return r.fail(field + " array element type",
                  std::to_string(raw) + " is not a GGUF value type (0..12)");
  v.element_type = static_cast<GgufValueType>(raw);
  if (v.element_type == GgufValueType::kArray)
    return r.fail(field + " array element type", "nested arrays are not supported");
  uint64_t count = 0;
  if (!r.read(field + " array length", count)) return false;
  if (count > r.left() / static_cast<uint64_t>(element_bytes(v.element_type)))
    return r.fail(field + " array length",
                  std::to_string(count) + " elements of " + gguf_value_type_name(v.element_type) +
                      " cannot fit in the " + std::to_string(r.left()) + " bytes left");
  const auto n = static_cast<size_t>(count);
  std::string text;
  int64_t integer = 0;
  double real = 0.0;
  const bool is_string = v.element_type == GgufValueType::kString;
  const bool is_real =
      v.element_type == GgufValueType::kF32 || v.element_type == GgufValueType::kF64;
  if (is_string)
    v.texts.reserve(n);
  else if (is_real)
    v.reals.reserve(n);
  else
    v.integers.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (!read_scalar(r, field + "[" + std::to_string(i) + "]", v.element_type, integer, real, text))
      return false;
    if (is_string)
      v.texts.push_back(std::move(text));
    else if (is_real)
      v.reals.push_back(real);
    else
      v.integers.push_back(integer);
  }
  return true;
}

struct Span {
  uint64_t begin = 0, end = 0;
  const std::string* name = nullptr;
};

void check_overlaps(std::vector<Span> spans, std::vector<std::string>& problems) {
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  const Span* furthest = nullptr;
  for (const Span& s : spans) {
    if (s.begin == s.end) continue;
    if (furthest && s.begin < furthest->end)
      problems.push_back("tensor '" + *s.name + "': bytes [" + std::to_string(s.begin) + ", " +
                         std::to_string(s.end) + ") overlap those of tensor '" + *furthest->name +
                         "' [" + std::to_string(furthest->begin) + ", " +
                         std::to_string(furthest->end) + ")");
    if (!furthest || s.end > furthest->end) furthest = &s;
  }
}

// Reads one tensor info; shape and type problems go to `problems` (the header still parses on).
bool read_tensor_info(Reader& r, size_t index, GgufTensor& t, uint64_t& raw_type,
                      std::vector<std::string>& problems) {
  const std::string field = "tensor info " + std::to_string(index);
  if (!r.string(field + " name", t.name, kMaxNameBytes)) return false;
  const std::string named = "tensor '" + t.name + "'";
  uint32_t n_dims = 0;
  if (!r.read(named + " n_dims", n_dims)) return false;
  if (n_dims > kMaxDims)
    return r.fail(named + " n_dims", std::to_string(n_dims) + " exceeds the maximum of 4");
  t.dims.resize(n_dims);
  for (uint32_t d = 0; d < n_dims; ++d) {
    uint64_t v = 0;
    if (!r.read(named + " dims[" + std::to_string(d) + "]", v)) return false;
    t.dims[d] = static_cast<int64_t>(std::min<uint64_t>(v, static_cast<uint64_t>(kMaxDim)));
    if (v == 0 || v > static_cast<uint64_t>(kMaxDim))
      problems.push_back(named + ": dims[" + std::to_string(d) + "] = " + std::to_string(v) +
                         " is out of range [1, 2^40]");
  }
  uint32_t type = 0;
  if (!r.read(named + " type", type)) return false;
  raw_type = type;
  if (!r.read(named + " offset", t.offset)) return false;
  return true;
}

}  // namespace

const char* gguf_value_type_name(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
      return "uint8";
    case GgufValueType::kI8:
      return "int8";
    case GgufValueType::kU16:
      return "uint16";
    case GgufValueType::kI16:
      return "int16";
    case GgufValueType::kU32:
      return "uint32";
    case GgufValueType::kI32:
      return "int32";
    case GgufValueType::kF32:
      return "float32";
    case GgufValueType::kBool:
      return "bool";
    case GgufValueType::kString:
      return "string";
    case GgufValueType::kArray:
      return "array";
    case GgufValueType::kU64:
      return "uint64";
    case GgufValueType::kI64:
      return "int64";
    case GgufValueType::kF64:
      return "float64";
  }
  return "unknown";
}

bool GgufValue::is_integer() const {
  return type != GgufValueType::kBool && type != GgufValueType::kString &&
         type != GgufValueType::kArray && type != GgufValueType::kF32 &&
         type != GgufValueType::kF64;
}
bool GgufValue::is_number() const {
  return is_integer() || type == GgufValueType::kF32 || type == GgufValueType::kF64;
}
bool GgufValue::is_array_of_integers() const {
  return type == GgufValueType::kArray && element_type != GgufValueType::kString &&
         element_type != GgufValueType::kF32 && element_type != GgufValueType::kF64;
}

GgufValue GgufValue::u32(uint32_t v) {
  GgufValue g;
  g.type = GgufValueType::kU32;
  g.integer = v;
  return g;
}
GgufValue GgufValue::i32(int32_t v) {
  GgufValue g;
  g.type = GgufValueType::kI32;
  g.integer = v;
  return g;
}
GgufValue GgufValue::u64(uint64_t v) {
  GgufValue g;
  g.type = GgufValueType::kU64;
  g.integer = static_cast<int64_t>(std::min<uint64_t>(v, std::numeric_limits<int64_t>::max()));
  return g;
}
GgufValue GgufValue::f32(float v) {
  GgufValue g;
  g.type = GgufValueType::kF32;
  g.real = v;
  return g;
}
GgufValue GgufValue::boolean(bool v) {
  GgufValue g;
  g.type = GgufValueType::kBool;
  g.integer = v;
  return g;
}
GgufValue GgufValue::string(std::string v) {
  GgufValue g;
  g.type = GgufValueType::kString;
  g.text = std::move(v);
  return g;
}
GgufValue GgufValue::string_array(std::vector<std::string> v) {
  GgufValue g;
  g.type = GgufValueType::kArray;
  g.element_type = GgufValueType::kString;
  g.texts = std::move(v);
  return g;
}
GgufValue GgufValue::i32_array(std::vector<int64_t> v) {
  GgufValue g;
  g.type = GgufValueType::kArray;
  g.element_type = GgufValueType::kI32;
  g.integers = std::move(v);
  return g;
}
GgufValue GgufValue::f32_array(std::vector<double> v) {
  GgufValue g;
  g.type = GgufValueType::kArray;
  g.element_type = GgufValueType::kF32;
  g.reals = std::move(v);
  return g;
}

int64_t GgufTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

const GgufValue* GgufContents::find(const std::string& key) const {
  for (const auto& [k, v] : metadata)
    if (k == key) return &v;
  return nullptr;
}

const GgufTensor* GgufContents::find_tensor(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

Result<GgufContents> parse_gguf(const uint8_t* bytes, size_t size, const std::string& source) {
  GgufContents c;
  Reader r(bytes, size, source);
  uint32_t magic = 0;
  if (!r.read("magic", magic)) return r.status();
  if (magic != kMagic) return data_loss(source + ": magic is not \"GGUF\" (not a GGUF file)");
  if (!r.read("version", c.version)) return r.status();
  if (c.version == 1)
    return data_loss(source + ": version 1 is not supported (2 or 3; convert the file again)");
  if (c.version != 2 && c.version != 3) {
    const bool swapped = __builtin_bswap32(c.version) == 2 || __builtin_bswap32(c.version) == 3;
    return data_loss(source + ": version " + std::to_string(c.version) +
                     " is not supported (2 or 3)" +
                     (swapped ? "; the file looks big-endian, which fathom does not read" : ""));
  }
  uint64_t num_tensors = 0, num_kv = 0;
  if (!r.read("tensor count", num_tensors) || !r.read("metadata count", num_kv)) return r.status();
  // Each metadata entry takes at least 8 (key length) + 4 (type) + 1 bytes, each tensor info
  // 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset): a count beyond that is a lie.
  if (num_kv > r.left() / 13)
    return data_loss(source + ": metadata count " + std::to_string(num_kv) +
                     " cannot fit in the file's " + std::to_string(size) + " bytes (truncated?)");
  if (num_tensors > r.left() / 24)
    return data_loss(source + ": tensor count " + std::to_string(num_tensors) +
                     " cannot fit in the file's " + std::to_string(size) + " bytes (truncated?)");

  std::unordered_set<std::string> keys;
  for (uint64_t i = 0; i < num_kv; ++i) {
    std::string key;
    if (!r.string("metadata key " + std::to_string(i), key, 1 << 16)) return r.status();
    if (!keys.insert(key).second)
      return data_loss(source + ": metadata key '" + key + "' appears twice");
    GgufValue v;
    if (!read_value(r, key, v)) return r.status();
    c.metadata.emplace_back(std::move(key), std::move(v));
  }
  if (const GgufValue* a = c.find("general.alignment")) {
    if (a->type != GgufValueType::kU32)
      return data_loss(source + ": general.alignment must be a uint32, got " +
                       gguf_value_type_name(a->type));
    const auto v = static_cast<uint64_t>(a->integer);
    if (v == 0 || (v & (v - 1)) != 0)
      return data_loss(source + ": general.alignment " + std::to_string(v) +
                       " is not a power of two");
    c.alignment = v;
  } else {
    c.alignment = kDefaultAlignment;
  }

  std::vector<std::string> problems;
  std::vector<uint32_t> raw_types;
  std::unordered_set<std::string> names;
  c.tensors.resize(static_cast<size_t>(num_tensors));
  for (size_t i = 0; i < c.tensors.size(); ++i) {
    uint64_t raw = 0;
    if (!read_tensor_info(r, i, c.tensors[i], raw, problems)) return r.status();
    raw_types.push_back(static_cast<uint32_t>(raw));
    if (!names.insert(c.tensors[i].name).second)
      return data_loss(source + ": tensor '" + c.tensors[i].name + "' appears twice");
  }
  const uint64_t header_end = r.pos();
  c.data_offset = (header_end + c.alignment - 1) / c.alignment * c.alignment;
  const uint64_t data_size = c.data_offset <= size ? size - c.data_offset : 0;
  if (c.data_offset > size && !c.tensors.empty())
    return data_loss(source + ": the data section would start at byte " +
                     std::to_string(c.data_offset) + " but the file has " + std::to_string(size) +
                     " bytes (truncated)");

  std::vector<Span> spans;
  uint64_t want_end = 0;
  size_t num_truncated = 0;
  for (size_t i = 0; i < c.tensors.size(); ++i) {
    GgufTensor& t = c.tensors[i];
    const std::string named = "tensor '" + t.name + "'";
    const auto type = ggml_type_from_raw(raw_types[i]);
    if (!type) {
      problems.push_back(named + ": type " + std::to_string(raw_types[i]) + " (" +
                         ggml_type_name_raw(raw_types[i]) +
                         ") is not supported (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, "
                         "Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS)");
      continue;
    }
    t.type = *type;
    bool dims_ok = true;
    for (int64_t d : t.dims) dims_ok &= d >= 1 && d <= kMaxDim;
    if (!dims_ok) continue;  // reported while reading
    const int64_t block = ggml_block_elements(t.type);
    const int64_t cols = t.dims.empty() ? 1 : t.dims[0];
    if (cols % block != 0) {
      problems.push_back(named + ": dims[0] = " + std::to_string(cols) + " is not a multiple of " +
                         ggml_type_name(t.type) + "'s block of " + std::to_string(block));
      continue;
    }
    // Bytes = rows x row bytes, computed without overflow: every dim <= 2^40, and the product
    // is checked against a 2^62 cap step by step.
    uint64_t nbytes = static_cast<uint64_t>(ggml_row_bytes(t.type, cols));
    bool too_big = false;
    for (size_t d = 1; d < t.dims.size(); ++d) {
      const auto v = static_cast<uint64_t>(t.dims[d]);
      if (nbytes > (uint64_t{1} << 62) / v)
        too_big = true;
      else
        nbytes *= v;
    }
    if (too_big) {
      problems.push_back(named + ": shape is absurdly large");
      continue;
    }
    if (t.offset % c.alignment != 0) {
      problems.push_back(named + ": offset " + std::to_string(t.offset) +
                         " is not a multiple of the alignment " + std::to_string(c.alignment));
      continue;
    }
    if (t.offset > data_size || nbytes > data_size - t.offset) {
      want_end = std::max(want_end, std::min(t.offset, uint64_t{1} << 62) + nbytes);
      ++num_truncated;
      continue;
    }
    t.size_bytes = static_cast<int64_t>(nbytes);
    spans.push_back({t.offset, t.offset + nbytes, &t.name});
  }
  check_overlaps(spans, problems);
  if (num_truncated > 0 || !problems.empty()) {
    std::string msg = source + ": ";
    if (num_truncated > 0)
      msg += "file truncated: the tensor infos describe data up to byte " +
             std::to_string(c.data_offset + want_end) + " but the file has " +
             std::to_string(size) + " bytes (" + std::to_string(num_truncated) +
             " tensor(s) cut off)";
    if (!problems.empty()) {
      msg += std::string(num_truncated ? "; " : "") + std::to_string(problems.size()) +
             " bad tensor info(s):";
      constexpr size_t kMaxListed = 20;
      for (size_t i = 0; i < problems.size() && i < kMaxListed; ++i) msg += "\n  " + problems[i];
      if (problems.size() > kMaxListed)
        msg += "\n  ... and " + std::to_string(problems.size() - kMaxListed) + " more";
    }
    return data_loss(msg);
  }
  for (GgufTensor& t : c.tensors) t.data = bytes + c.data_offset + t.offset;
  return c;
}

Result<GgufFile> GgufFile::open(const std::string& path) {
  GgufFile f;
  FATHOM_ASSIGN_OR_RETURN(f.file_, MappedFile::open(path));
  FATHOM_ASSIGN_OR_RETURN(f.contents_, parse_gguf(f.file_.data(), f.file_.size(), path));
  return f;
}

bool looks_like_gguf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

}  // namespace fathom::formats
