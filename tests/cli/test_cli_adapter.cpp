// Adapters from the command line: `generate --adapter` must answer as the model
// that `whet merge` writes, and a wrong adapter must stop with a clear error.
#include <gtest/gtest.h>

#include <string>

#include "cli/run_whet.h"

namespace whet {
namespace {

using test::run_whet;
using test::RunResult;

const auto& tiny = test::tiny_model;
const auto& answer = test::greedy_cli_answer;

TEST(CliAdapter, GenerateWithAdapterAnswersAsTheMergedModel) {
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    SCOPED_TRACE(variant);
    const std::string base = tiny(variant) + "/hf", adapter = tiny(variant) + "/gradients/lora";
    const std::string with_adapter = answer(base + " --adapter " + adapter);
    EXPECT_NE(with_adapter, answer(base));
    const std::string out = test::scratch_dir(std::string("cli_merge_") + variant);
    for (auto [merged, options] : {std::pair{out + "/hf", ""}, {out + "/merged.gguf", " --to gguf --dtype f32"}}) {
      SCOPED_TRACE(merged);
      const RunResult r = run_whet("merge " + base + " " + adapter + " " + merged + options);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_NE(r.err.find("wrote"), std::string::npos) << r.err;
      EXPECT_EQ(answer(merged), with_adapter);
    }
  }
}

TEST(CliAdapter, MissingAdapterIsAClearError) {
  const std::string base = tiny("gqa_tied") + "/hf";
  for (const std::string& args :
       {"generate " + base + " --adapter /nonexistent/adapter" + test::kGreedyPrompt,
        "merge " + base + " /nonexistent/adapter " + test::scratch_dir("cli_merge_missing")}) {
    SCOPED_TRACE(args);
    const RunResult r = run_whet(args);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("/nonexistent/adapter"), std::string::npos) << r.err;
  }
}

TEST(CliAdapter, AdapterForAnotherModelIsAClearError) {
  const std::string adapter = tiny("untied_llama3") + "/gradients/lora";
  const RunResult r = run_whet("generate " + tiny("gqa_tied") + "/hf --adapter " + adapter + test::kGreedyPrompt);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(adapter), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("shape"), std::string::npos) << r.err;
}

// --adapter-scale: 0 answers as the base and 1 as the adapter, in generate and
// in what merge writes; every command that takes adapters spells it the same.
TEST(CliAdapter, AdapterScaleZeroIsTheBaseOneTheAdapter) {
  const std::string base = tiny("gqa_tied") + "/hf", adapter = tiny("gqa_tied") + "/gradients/lora";
  const std::string plain = answer(base), adapted = answer(base + " --adapter " + adapter);
  ASSERT_NE(plain, adapted);
  EXPECT_EQ(answer(base + " --adapter " + adapter + " --adapter-scale 0"), plain);
  EXPECT_EQ(answer(base + " --adapter " + adapter + " --adapter-scale 1"), adapted);
  const std::string merged = test::scratch_dir("cli_merge_scale") + "/hf";
  const RunResult r = run_whet("merge " + base + " " + adapter + " " + merged + " --adapter-scale 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(answer(merged), plain);
  for (const char* command : {"generate", "chat", "eval", "serve", "merge"}) {
    const RunResult help = run_whet(std::string(command) + " --help");
    EXPECT_NE(help.out.find("--adapter-scale"), std::string::npos) << command;
  }
}

}  // namespace
}  // namespace whet
