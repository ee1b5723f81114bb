// Starts a private PostgreSQL server (initdb into a fresh directory, then `postgres` on a free
// loopback port) for one test or suite, and stops it after. PostgreSQL refuses to run as root,
// so when the tests run as root the children switch to the `postgres` system user (created by
// the Debian package) and the directory is handed to it. Readiness is read from the server's
// own log ("database system is ready to accept connections"), not slept for.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_server.h"  // free_port()

namespace fathom::testing {

class PostgresServer {
 public:
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

  PostgresServer() {
    const std::string initdb = std::string(kBinDir) + "/initdb";
    const std::string postgres = std::string(kBinDir) + "/postgres";
    if (access(initdb.c_str(), X_OK) != 0 || access(postgres.c_str(), X_OK) != 0) {
      error_ = "PostgreSQL 15 binaries not found in " + std::string(kBinDir);
      return;
    }
    char tmpl[] = "/tmp/fathom_pg_XXXXXX";
    if (!mkdtemp(tmpl)) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    if (getuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (!pw) {
        error_ = "running as root and there is no 'postgres' user to run the server as";
        return;
      }
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
      if (chown(dir_.c_str(), uid_, gid_) != 0) {
        error_ = "cannot chown " + dir_;
        return;
      }
    }
    const std::string data = dir_ + "/data";
    const std::string init_log = dir_ + "/initdb.log";
    const pid_t init = spawn({initdb, "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C",
                              "--no-sync"},
                             init_log);
    int status = 0;
    if (init < 0 || waitpid(init, &status, 0) != init || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      error_ = "initdb failed (see " + init_log + ")";
      return;
    }
    port_ = free_port();
    int out[2];
    if (pipe(out) != 0) return;
    fcntl(out[0], F_SETFD, FD_CLOEXEC);
    pid_ = spawn({postgres, "-D", data, "-p", std::to_string(port_), "-k", dir_, "-h", "127.0.0.1", "-c",
                  "max_connections=200", "-c", "logging_collector=off"},
                 "", out[1]);
    close(out[1]);
    FILE* log = fdopen(out[0], "r");
    char line[1024];
    while (log && std::fgets(line, sizeof(line), log)) {  // ends at EOF if the server dies
      log_text_ += line;
      if (std::string(line).find("database system is ready to accept connections") != std::string::npos) {
        ready_ = true;
        break;
      }
    }
    if (!ready_) error_ = "postgres did not start: " + log_text_;
    // Keep draining the log so the server never blocks on a full pipe.
    drain_ = std::thread([log] {
      char buf[1024];
      while (log && std::fgets(buf, sizeof(buf), log)) {
      }
      if (log) std::fclose(log);
    });
  }

  ~PostgresServer() {
    if (pid_ > 0) {
      kill(pid_, SIGINT);  // "fast" shutdown: disconnects clients, then exits
      waitpid(pid_, nullptr, 0);
    }
    if (drain_.joinable()) drain_.join();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  bool ready() const { return ready_; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  /// libpq conninfo for a database on this server.
  std::string conninfo(const std::string& dbname = "postgres") const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + dbname;
  }

 private:
  // fork + exec as the postgres user; stdout and stderr go to `log_path` or to `log_fd`.
  // Everything the child needs is built before fork (the parent may have other threads).
  pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path, int log_fd = -1) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    static char kLocale[] = "LC_ALL=C";
    static char kPath[] = "PATH=/usr/bin:/bin";
    char* env[] = {kLocale, kPath, nullptr};
    const bool as_root = getuid() == 0;
    const pid_t pid = fork();
    if (pid != 0) return pid;
    const int fd = log_fd >= 0 ? log_fd : open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    if (as_root && (setgroups(0, nullptr) != 0 || setgid(gid_) != 0 || setuid(uid_) != 0)) _exit(126);
    execve(args[0], args.data(), env);
    _exit(127);
  }

  std::string dir_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t pid_ = -1;
  int port_ = 0;
  bool ready_ = false;
  std::string error_;
  std::string log_text_;
  std::thread drain_;
};

}  // namespace fathom::testing
