// The `policies:` section of the gateway config (see policy/policy.h): `tenants` and `keys`
// (by key id), each a mapping of names to one policy. Every field is checked with its path.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "gateway/config/yaml_fields.h"
#include "gateway/policy/policy.h"

namespace fathom::gateway {

/// `is_model(name)`: whether a model route has that name or alias (a default model must).
policy::PoliciesConfig parse_policies(const YAML::Node& node,
                                      const std::function<bool(const std::string&)>& is_model,
                                      std::vector<std::string>& problems);

}  // namespace fathom::gateway
