#include "serve/data_folder_path.h"

#include <fmt/format.h>

#include <algorithm>

#include "serve/api_error.h"

namespace whet::serve {

namespace fs = std::filesystem;

fs::path path_in_data_folder(const std::string& data_dir, const std::string& given, const std::string& param,
                             const std::string& hint) {
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(fs::absolute(data_dir), ec);
  const fs::path path = fs::weakly_canonical(fs::path(given).is_absolute() ? fs::path(given) : root / given, ec);
  const auto [end, _] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  if (ec || given.empty() || end != root.end() || path == root)
    throw ApiError(403, "permission_error",
                   fmt::format("'{}' is outside the server's data folder {}{}", given, root.string(),
                               hint.empty() ? "" : "; " + hint),
                   param, "path_not_allowed");
  return path;
}

}  // namespace whet::serve
