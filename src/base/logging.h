// Minimal leveled logging to stderr: FATHOM_LOG(kInfo) << "loaded " << n << " tensors";
#pragma once

#include <sstream>

namespace fathom {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();

class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  template <typename T>
  LogLine& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

/// Turns a LogLine expression into void so it fits the conditional operator below.
struct LogVoidify {
  void operator&(const LogLine&) {}
};

}  // namespace fathom

#define FATHOM_LOG(level)                                              \
  (::fathom::LogLevel::level < ::fathom::log_level())                  \
      ? (void)0                                                        \
      : ::fathom::LogVoidify() & ::fathom::LogLine(::fathom::LogLevel::level, __FILE__, __LINE__)
