// Reads the Hugging Face reference data of a fixture model (tests/data/models/NAME).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "formats/safetensors.h"

namespace fathom::testing {

inline std::string fixture_dir(const std::string& name) { return "tests/data/models/" + name; }

class Reference {
 public:
  explicit Reference(const std::string& model_name) {
    auto f = formats::SafetensorsFile::open(fixture_dir(model_name) + "/reference.safetensors");
    if (!f.ok()) {
      ADD_FAILURE() << f.status().to_string();
      return;
    }
    file_ = std::make_unique<formats::SafetensorsFile>(std::move(*f));
  }
  bool has(const std::string& name) const { return find(name) != nullptr; }
  std::vector<int32_t> ids(const std::string& name) const {
    const formats::TensorView* t = find(name);
    if (!t) return {};
    return {t->as<int32_t>(), t->as<int32_t>() + t->numel()};
  }
  std::vector<float> floats(const std::string& name) const {
    const formats::TensorView* t = find(name);
    if (!t) return {};
    return {t->as<float>(), t->as<float>() + t->numel()};
  }

 private:
  const formats::TensorView* find(const std::string& name) const {
    if (!file_) return nullptr;
    for (const auto& t : file_->tensors())
      if (t.name == name) return &t;
    return nullptr;
  }
  std::unique_ptr<formats::SafetensorsFile> file_;
};

inline float max_abs_diff(const float* a, const float* b, size_t n) {
  float m = 0.0f;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace fathom::testing
