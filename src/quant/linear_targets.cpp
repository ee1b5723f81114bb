#include "quant/linear_targets.h"

#include <algorithm>
#include <cstdlib>

namespace fathom::quant {

Result<std::vector<LinearTarget>> find_linear_targets(const formats::Checkpoint& ck) {
  static const std::string kHead = "model.layers.", kTail = ".weight";
  std::vector<LinearTarget> out;
  for (const std::string& name : ck.names()) {
    if (name.rfind(kHead, 0) != 0 || name.size() <= kHead.size() + kTail.size() ||
        name.compare(name.size() - kTail.size(), kTail.size(), kTail) != 0)
      continue;
    const formats::TensorView* t = ck.find(name);
    if (t->shape.size() != 2) continue;
    LinearTarget tg;
    tg.prefix = name.substr(0, name.size() - kTail.size());
    tg.layer = std::atoll(name.c_str() + kHead.size());
    tg.out = t->dim(0);
    tg.in = t->dim(1);
    out.push_back(std::move(tg));
  }
  if (out.empty()) return invalid_argument("--model: no model.layers.*.weight linear layers found");
  std::sort(out.begin(), out.end(), [](const LinearTarget& a, const LinearTarget& b) {
    return a.layer != b.layer ? a.layer < b.layer : a.prefix < b.prefix;
  });
  return out;
}

}  // namespace fathom::quant
