#pragma once
// Runs the built whet binary as a user would, for the CLI tests in several files.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "test_support.h"

namespace whet::test {

struct RunResult {
  int exit_code;
  std::string out, err;
};

inline std::string whet_path() { return std::string(binary_dir()) + "/whet"; }

// A shell command line (for wrappers such as timeout around whet); stdout and stderr are captured.
inline RunResult run_whet_command(const std::string& command_line) {
  const std::string dir = scratch_dir("cli_run_" + std::to_string(::getpid()));
  const std::string err_path = dir + "/stderr";
  const std::string command = command_line + " 2>" + err_path;
  RunResult r{};
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) r.out.append(buffer, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  r.err.assign(std::istreambuf_iterator<char>(err), {});
  return r;
}

// `args` go through the shell, so they may carry quotes and redirections.
inline RunResult run_whet(const std::string& args) { return run_whet_command(whet_path() + " " + args); }

// The Python of the test virtualenv that scripts/setup_test_venv.sh makes (`make test` runs it).
inline std::string test_python() {
  const char* cache = std::getenv("WHET_CACHE");
  return (cache ? std::string(cache) : std::string(std::getenv("HOME")) + "/.cache/whet") + "/venv-test/bin/python";
}

// A tiny test model's folder, e.g. tiny_model("gqa_tied") + "/hf".
inline std::string tiny_model(const std::string& variant) { return testdata_path("tiny/" + variant); }

// A fixed raw prompt answered greedily: `whet generate MODEL` + this.
inline const std::string kGreedyPrompt = " --raw --temperature 0 --max-tokens 16 --prompt 'the tin in the sea'";

// `whet generate`'s answer to kGreedyPrompt, for tests that compare what
// different model files and adapters answer.
inline std::string greedy_cli_answer(const std::string& model_and_options) {
  const RunResult r = run_whet("generate " + model_and_options + kGreedyPrompt);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

}  // namespace whet::test
