// Starts a private redis-server on a free loopback port for one test, and stops it after.
// Readiness is read from the server's own log ("Ready to accept connections"), not slept for.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace fathom::testing {

inline int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class RedisServer {
 public:
  /// On a free port, or on `port` (to restart a server where clients expect it).
  explicit RedisServer(int port = 0) {
    if (access("/usr/bin/redis-server", X_OK) != 0) return;
    port_ = port > 0 ? port : free_port();
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      const std::string port_arg = std::to_string(port_);
      execl("/usr/bin/redis-server", "redis-server", "--port", port_arg.c_str(), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--loglevel", "notice", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    FILE* log = fdopen(out[0], "r");
    char line[512];
    while (log && std::fgets(line, sizeof(line), log)) {
      if (std::string(line).find("Ready to accept connections") != std::string::npos) {
        ready_ = true;
        break;
      }
    }
    log_ = log;  // keep the pipe open so the server never blocks on a full stdout
  }
  ~RedisServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (log_) std::fclose(log_);
  }
  bool ready() const { return ready_; }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  bool ready_ = false;
  FILE* log_ = nullptr;
};

}  // namespace fathom::testing
