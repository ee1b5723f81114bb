// The deployment files for the decided mode: a gateway.yaml (`fathom gateway --config`), the
// `fathom serve` flags sized by the plan, and a Kustomize overlay that builds on the matching
// deploy/k8s/overlays/<mode> and sets the serve ConfigMap values and replica count.
#pragma once

#include <string>
#include <vector>

#include "plan/planner.h"

namespace fathom::plan {

struct DeployOptions {
  std::string serve_url =
      "http://fathom-serve:8000";  ///< the on-premises / in-cluster model server
  std::string cloud_url = "http://fathom-serve-cloud:8000";  ///< hybrid: the cloud pool
  std::string saas_url = "https://api.deepseek.com";         ///< saas: the provider
  std::string gateway_host = "0.0.0.0";
  int64_t gateway_port = 8080;
  std::string data_dir = "/var/lib/fathom-gateway";
  std::string model_dir;  ///< default /models/<model name>
  std::string overlays_dir =
      "../../deploy/k8s/overlays";  ///< as seen from the generated overlay folder
};

struct DeployFiles {
  std::string gateway_yaml;
  std::vector<std::string> serve_args;  ///< after "fathom serve"
  std::string kustomization_yaml;       ///< "" when the mode has no cluster overlay
  int64_t kv_cache_mb = 0;
};

/// Nothing to deploy (no device fits): InvalidArgument.
Result<DeployFiles> make_deploy_files(const Plan& p, const DeployOptions& o);

/// The serve flags as one shell line ("fathom serve --model ... \\\n  ...").
std::string serve_command_line(const DeployFiles& f);

}  // namespace fathom::plan
