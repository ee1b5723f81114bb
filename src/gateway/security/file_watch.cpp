#include "gateway/security/file_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>

namespace fathom::gateway {

std::unique_ptr<FileWatch> FileWatch::start(const std::string& dir, std::vector<std::string> names) {
  std::unique_ptr<FileWatch> w(new FileWatch());
  w->dir_ = dir;
  w->names_ = std::move(names);
  w->fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (w->fd_ < 0) return nullptr;
  // The directory, for watched files created or renamed into place (SQLite's -wal file).
  if (::inotify_add_watch(w->fd_, dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_DELETE) < 0) return nullptr;
  for (const std::string& name : w->names_) w->watch_file(name);
  return w;
}

FileWatch::~FileWatch() {
  if (fd_ >= 0) ::close(fd_);
}

void FileWatch::watch_file(const std::string& name) {
  // A file that does not exist yet is picked up by the directory watch when it appears.
  (void)::inotify_add_watch(fd_, (dir_ + "/" + name).c_str(),
                            IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF);
}

bool FileWatch::changed() {
  bool changed = first_;
  first_ = false;
  alignas(inotify_event) char buf[4096];
  for (ssize_t n; (n = ::read(fd_, buf, sizeof(buf))) > 0;) {
    for (ssize_t at = 0; at < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->len == 0) {  // an event on a watched file itself
        changed = true;
        continue;
      }
      const std::string name(ev->name);
      if (std::find(names_.begin(), names_.end(), name) == names_.end()) continue;  // another file
      changed = true;
      if (ev->mask & (IN_CREATE | IN_MOVED_TO)) watch_file(name);
    }
  }
  return changed;
}

}  // namespace fathom::gateway
