#include "gateway/admin/console_text.h"

#include <yaml-cpp/yaml.h>

#include "net/http_message.h"

namespace fathom::gateway {
namespace {

bool secret_field(const std::string& name) {
  return name == "password" || name == "secret" || name == "token" || name == "totp_secrets";
}

// Replaces password=... in a libpq conninfo and user:password@ in a URI (any value: a
// connection string may sit in any field).
std::string mask_conninfo(std::string s) {
  for (size_t at = s.find("password="); at != std::string::npos; at = s.find("password=", at + 1)) {
    const size_t from = at + 9;
    size_t to = from;
    if (to < s.size() && s[to] == '\'') {
      to = s.find('\'', to + 1);
      to = to == std::string::npos ? s.size() : to + 1;
    } else {
      while (to < s.size() && s[to] != ' ' && s[to] != '&') ++to;
    }
    s.replace(from, to - from, "***");
  }
  if (const size_t scheme = s.find("://"); scheme != std::string::npos) {
    const size_t host_end = s.find('/', scheme + 3);  // userinfo sits before the path
    const size_t at = s.find('@', scheme);
    const size_t colon = s.find(':', scheme + 3);
    if (at != std::string::npos && at < host_end && colon < at)
      s.replace(colon + 1, at - colon - 1, "***");
  }
  return s;
}

void mask_node(YAML::Node node, bool all) {
  if (node.IsScalar()) return;
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      if (!node[i].IsScalar())
        mask_node(node[i], all);
      else if (all)
        node[i] = "***";
      else if (std::string m = mask_conninfo(node[i].Scalar()); m != node[i].Scalar())
        node[i] = m;
    }
    return;
  }
  if (!node.IsMap()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string name = it->first.IsScalar() ? it->first.Scalar() : "";
    const bool secret = all || secret_field(name);
    if (it->second.IsScalar()) {
      if (secret) {
        it->second = "***";
      } else if (std::string m = mask_conninfo(it->second.Scalar()); m != it->second.Scalar()) {
        it->second = m;
      }
    } else {
      mask_node(it->second, secret);
    }
  }
}

}  // namespace

std::optional<std::string> query_param(const std::string& target, const std::string& name) {
  const size_t q = target.find('?');
  if (q == std::string::npos) return std::nullopt;
  std::string_view rest = std::string_view(target).substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    if (eq == std::string_view::npos) return std::string();
    std::string value(pair.substr(eq + 1));
    for (char& c : value)
      if (c == '+') c = ' ';
    return net::percent_decode(value);
  }
  return std::nullopt;
}

bool is_month(const std::string& m) {
  if (m.size() != 7 || m[4] != '-') return false;
  for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u})
    if (m[i] < '0' || m[i] > '9') return false;
  const int month = (m[5] - '0') * 10 + (m[6] - '0');
  return month >= 1 && month <= 12;
}

Result<std::string> masked_config_yaml(const std::string& yaml_text) {
  try {
    YAML::Node root = YAML::Load(yaml_text);
    mask_node(root, false);
    YAML::Emitter out;
    out << root;
    return std::string(out.c_str());
  } catch (const std::exception& e) {  // yaml-cpp throws on malformed YAML
    return invalid_argument(std::string("not valid YAML: ") + e.what());
  }
}

}  // namespace fathom::gateway
