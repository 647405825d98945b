#pragma once
// Paths shared by the tests: the source tree, the build tree, and the reference
// data that tests/python/make_references.sh writes before the C++ tests run.
#include <cstdlib>
#include <filesystem>
#include <string>

namespace whet::test {

inline std::string source_path(const std::string& relative) {
  return std::string(WHET_SOURCE_DIR) + "/" + relative;
}
inline std::string testdata_path(const std::string& relative) {
  return std::string(WHET_BINARY_DIR) + "/testdata/" + relative;
}
// The default model (SmolLM2-135M-Instruct GGUF), fetched by scripts/fetch_model.sh.
inline std::string default_model_path() {
  if (const char* p = std::getenv("WHET_DEFAULT_MODEL")) return p;
  const char* cache = std::getenv("WHET_CACHE");
  std::string dir = cache ? cache : std::string(std::getenv("HOME")) + "/.cache/whet";
  return dir + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}
// A fresh empty directory under the build tree for one test's outputs.
inline std::string scratch_dir(const std::string& name) {
  std::string dir = std::string(WHET_BINARY_DIR) + "/scratch/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace whet::test
