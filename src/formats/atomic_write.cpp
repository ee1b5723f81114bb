#include "formats/atomic_write.h"

#include <filesystem>
#include <fstream>

namespace fathom::formats {

Status write_file_atomically(const std::string& path,
                             const std::function<void(std::ostream&)>& body) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return invalid_argument(path + ": cannot open for writing");
    body(out);
    if (!out.flush()) return invalid_argument(path + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return invalid_argument(path + ": rename failed: " + ec.message());
  return ok_status();
}

}  // namespace fathom::formats
