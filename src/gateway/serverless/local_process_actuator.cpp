#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "gateway/serverless/actuator.h"

extern char** environ;

namespace fathom::gateway {

std::string InstanceExit::describe() const {
  if (signal != 0)
    return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) +
           ")";
  return "exited with status " + std::to_string(exit_code);
}

std::string self_executable() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("fathom") : p.string();
}

namespace {

// `name` as execve needs it: a path as given, else the first executable match on PATH.
Result<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) != 0) return not_found(name + ": not an executable file");
    return name;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return not_found(name + ": not found on PATH");
}

}  // namespace

Result<InstanceHandle> LocalProcessActuator::start(const InstanceSpec& spec) {
  if (spec.argv.empty()) return invalid_argument("worker command is empty");
  FATHOM_ASSIGN_OR_RETURN(const std::string program, find_program(spec.argv[0]));
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string name = kv.substr(0, kv.find('='));
    if (!spec.env.count(name)) env_text.push_back(kv);
  }
  for (const auto& [k, v] : spec.env) env_text.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : env_text) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const int log_fd = ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd < 0)
    return unavailable(spec.log_path + ": cannot open the worker log: " + std::strerror(errno));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(log_fd);
    return unavailable(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    // The child: its own process group (a terminal's ^C is the gateway's to handle), killed if
    // the gateway dies, the gateway's blocked signals unblocked, no inherited descriptors.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the gateway died before prctl
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::close_range(3, UINT_MAX, 0);
    ::execve(program.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  return InstanceHandle{pid};
}

void LocalProcessActuator::stop(const InstanceHandle& h, bool force) {
  if (h.pid > 0) ::kill(h.pid, force ? SIGKILL : SIGTERM);
}

std::optional<InstanceExit> LocalProcessActuator::poll_exit(const InstanceHandle& h) {
  int status = 0;
  const pid_t r = ::waitpid(h.pid, &status, WNOHANG);
  if (r == 0) return std::nullopt;
  InstanceExit e;
  if (r < 0) return e;  // not our child any more (reaped elsewhere): gone
  if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
  if (WIFEXITED(status)) e.exit_code = WEXITSTATUS(status);
  return e;
}

}  // namespace fathom::gateway
