#pragma once
// A path a client names, held to the server's data folder: relative paths are
// read from there, and the path, with `..` and symbolic links resolved, must
// lie inside it. The routes that read files a client names (task files, data
// pipeline folders) refuse everything else the same way.
#include <filesystem>
#include <string>

namespace whet::serve {

// The resolved path; ApiError 403 permission_error "path_not_allowed" naming
// `param` for a path outside `data_dir` or the folder itself. `hint` ends the message.
std::filesystem::path path_in_data_folder(const std::string& data_dir, const std::string& given,
                                          const std::string& param, const std::string& hint = "");

}  // namespace whet::serve
