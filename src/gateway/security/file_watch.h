// Says whether some files changed since the last look, for one non-blocking read() of an
// inotify descriptor. The key store uses it to learn that another process (`fathom keys
// revoke`, another gateway) committed to the key database, instead of opening a SQLite read
// transaction on every request. The kernel queues the event inside the writer's own write(),
// so a change is seen by the first look after that write returned.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace fathom::gateway {

class FileWatch {
 public:
  /// Watches the named files in `dir` (created, written, replaced or deleted). Null when
  /// inotify is unavailable: the caller must then assume every look sees a change.
  static std::unique_ptr<FileWatch> start(const std::string& dir, std::vector<std::string> names);
  ~FileWatch();

  /// True when a watched file changed since the last call (and on the first call). Not
  /// thread-safe.
  bool changed();

 private:
  FileWatch() = default;
  void watch_file(const std::string& name);

  std::string dir_;
  std::vector<std::string> names_;
  int fd_ = -1;
  bool first_ = true;
};

}  // namespace fathom::gateway
