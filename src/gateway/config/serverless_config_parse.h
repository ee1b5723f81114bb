// The `kind: serverless` part of a pool's config (see serverless/serverless_config.h).
#pragma once

#include <string>
#include <vector>

#include "gateway/config/yaml_fields.h"
#include "gateway/serverless/serverless_config.h"

namespace fathom::gateway {

/// The fields a serverless pool may have (besides `kind`).
const std::set<std::string>& serverless_pool_fields();

/// Reads a serverless pool's fields from `f` (the pool's mapping at `path`); every problem is
/// recorded. `pool_name` is the default worker model name.
ServerlessConfig parse_serverless_pool(Fields& f, const std::string& path,
                                       const std::string& pool_name,
                                       std::vector<std::string>& problems);

}  // namespace fathom::gateway
