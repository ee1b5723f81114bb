// Starts and stops a serverless pool's instances. LocalProcessActuator runs them as child
// processes of the gateway; a cluster actuator (Kubernetes/Knative) would implement the same.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace fathom::gateway {

struct InstanceSpec {
  std::vector<std::string> argv;           ///< the command, placeholders filled in
  std::map<std::string, std::string> env;  ///< added to the gateway's environment
  std::string log_path;                    ///< its stdout and stderr
};

struct InstanceHandle {
  pid_t pid = 0;
};

/// How an instance ended.
struct InstanceExit {
  int exit_code = -1;  ///< when it exited
  int signal = 0;      ///< when a signal killed it
  std::string describe() const;
};

class Actuator {
 public:
  virtual ~Actuator() = default;
  virtual Result<InstanceHandle> start(const InstanceSpec& spec) = 0;
  /// Asks it to finish what it has and exit (SIGTERM); `force`: now (SIGKILL).
  virtual void stop(const InstanceHandle& h, bool force) = 0;
  /// Its exit when it has ended (and is reaped: no zombie stays); nullopt while it runs.
  virtual std::optional<InstanceExit> poll_exit(const InstanceHandle& h) = 0;
};

/// Child processes: fork + execve, each in its own process group, with its output in
/// spec.log_path and PR_SET_PDEATHSIG so that none outlives a gateway that is killed.
class LocalProcessActuator final : public Actuator {
 public:
  Result<InstanceHandle> start(const InstanceSpec& spec) override;
  void stop(const InstanceHandle& h, bool force) override;
  std::optional<InstanceExit> poll_exit(const InstanceHandle& h) override;
};

/// This program's own executable (for the {fathom} placeholder).
std::string self_executable();

}  // namespace fathom::gateway
