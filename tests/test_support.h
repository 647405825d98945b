#pragma once
// Paths shared by the tests: the source tree, the build tree, and the reference
// data that tests/python/make_references.sh writes before the C++ tests run;
// per-test scratch folders, the expectation that an action throws whet::Error,
// and the size of an OpenMP team.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"

namespace whet::test {

// The source and build trees of this build (tests/test_paths.cpp.in).
const char* source_dir();
const char* binary_dir();

// The team size of an OpenMP region opened by the calling thread.
inline int openmp_team_size() {
  int size = 0;
#pragma omp parallel
#pragma omp single
  size = omp_get_num_threads();
  return size;
}

inline std::string source_path(const std::string& relative) { return std::string(source_dir()) + "/" + relative; }
inline std::string testdata_path(const std::string& relative) {
  return std::string(binary_dir()) + "/testdata/" + relative;
}
// The default model (SmolLM2-135M-Instruct GGUF), fetched by scripts/fetch_model.sh.
inline std::string default_model_path() {
  if (const char* p = std::getenv("WHET_DEFAULT_MODEL")) return p;
  const char* cache = std::getenv("WHET_CACHE");
  std::string dir = cache ? cache : std::string(std::getenv("HOME")) + "/.cache/whet";
  return dir + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}
// Under CI (CI=true) the set-up has run, so a missing model or oracle means the
// set-up is broken and WHET_REQUIRE_FILE fails the test; elsewhere it skips the
// test and says what is missing and what makes it.
inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}
inline std::string missing_file(const std::string& path, const std::string& made_by) {
  return std::filesystem::exists(path) ? "" : path + " is missing (" + made_by + " makes it)";
}
// Use in a test body or SetUp: unless `present`, skips (or fails under CI) saying `missing`.
#define WHET_REQUIRE(present, missing)                                      \
  if (!(present)) {                                                         \
    if (::whet::test::in_ci()) FAIL() << (missing) << "; CI must have it";  \
    GTEST_SKIP() << (missing);                                              \
  }
#define WHET_REQUIRE_FILE(path, made_by) \
  WHET_REQUIRE(::whet::test::missing_file(path, made_by).empty(), ::whet::test::missing_file(path, made_by))
#define WHET_REQUIRE_DEFAULT_MODEL() WHET_REQUIRE_FILE(::whet::test::default_model_path(), "scripts/fetch_model.sh")
// The real model's PyPI-derived references, written by make_references.sh when the default model is there.
#define WHET_REQUIRE_REAL_MODEL_REFERENCE() \
  WHET_REQUIRE_FILE(::whet::test::testdata_path("smollm2-f32/reference.json"), "tests/python/make_references.sh with the default model")

// A fresh empty folder under the build tree for one test's outputs. The plain and
// the AddressSanitizer binaries run the same tests at once under ctest, so the
// latter's folders get their own prefix.
inline std::string scratch_dir(const std::string& name) {
#ifdef WHET_ASAN
  const std::string dir = std::string(binary_dir()) + "/scratch/asan_" + name;
#else
  const std::string dir = std::string(binary_dir()) + "/scratch/" + name;
#endif
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
// A fresh scratch_dir named `prefix` + the running gtest test's name.
inline std::string this_test_scratch(const std::string& prefix) {
  return scratch_dir(prefix + ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

// Runs `action`, which must throw whet::Error whose message contains every one of `parts`.
template <typename Action>
void expect_error(Action&& action, const std::vector<std::string>& parts) {
  try {
    action();
    ADD_FAILURE() << "no whet::Error thrown; expected one mentioning '" << (parts.empty() ? "" : parts.front()) << "'";
  } catch (const Error& e) {
    for (const std::string& part : parts) EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

}  // namespace whet::test
