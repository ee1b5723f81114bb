// The text the admin console's endpoints take apart or rewrite: query strings of admin calls
// (untrusted; fuzz/admin_text_fuzz.cpp) and the config file shown with its secrets masked.
#pragma once

#include <optional>
#include <string>

#include "base/status.h"

namespace fathom::gateway {

/// The value of `name` in the target's query string ("/x?month=2026-12" -> "2026-12"),
/// percent-decoded; nullopt when absent.
std::optional<std::string> query_param(const std::string& target, const std::string& name);

/// "2026-12": four digits, a dash, a month 01-12 (the ledger's months).
bool is_month(const std::string& m);

/// The config file's YAML with every secret replaced by "***": admin.totp_secrets values, any
/// field named password, secret or token, and password=... or user:password@ in any value.
Result<std::string> masked_config_yaml(const std::string& yaml_text);

}  // namespace fathom::gateway
