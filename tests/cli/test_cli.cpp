// The whet binary as a user runs it: help on every command, clear errors with a
// non-zero exit on bad input, and answers from the real default model.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli/run_whet.h"

namespace whet {
namespace {

using test::run_whet;
using test::RunResult;

TEST(Cli, EveryCommandHasHelp) {
  for (const char* command : {"", "info", "generate", "chat", "convert", "merge", "export", "train", "predict", "eval",
                              "serve", "feedback", "feedback export", "data", "data prepare", "data stats", "data validate", "bench", "bench generate",
                              "bench batch", "bench train", "bench preference"}) {
    const RunResult r = run_whet(std::string(command) + " --help");
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << command;
  }
}

// The same flag for the same thing: every command that takes a model takes
// --model (some also take it as their first positional argument).
TEST(Cli, EveryModelCommandTakesDashDashModel) {
  for (const char* command : {"info", "generate", "chat", "convert", "merge", "export", "train", "predict", "eval",
                              "serve", "data stats", "bench generate", "bench batch", "bench train"}) {
    const RunResult r = run_whet(std::string(command) + " --help");
    EXPECT_NE(r.out.find("--model"), std::string::npos) << command << "\n" << r.out;
  }
  const std::string model = test::tiny_model("gqa_tied/hf");
  const RunResult positional = run_whet("info " + model);
  const RunResult named = run_whet("info --model " + model);
  ASSERT_EQ(positional.exit_code, 0) << positional.err;
  EXPECT_EQ(named.exit_code, 0) << named.err;
  EXPECT_EQ(named.out, positional.out);
}

// A Gemma with softcaps says so in its block line.
TEST(Cli, InfoNamesTheSoftcaps) {
  const RunResult r = run_whet("info " + test::tiny_model("gemma3_softcap/hf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("attention scores softcapped at 5, logits softcapped at 3"), std::string::npos) << r.out;
}

// The preference benchmarks run their steps end to end on a tiny model (their
// figures are for bench/, never asserted): the JSON they print has a loss and a rate.
TEST(Cli, PreferenceBenchmarksRunTheirSteps) {
  const std::string model = test::tiny_model("gqa_tied/hf");
  for (const std::string& command : {"bench train " + model + " --method dpo --seq 16 --steps 1 --warmup 0 --json",
                                     "bench train " + model +
                                         " --method grpo --seq 16 --num-generations 3 --steps 1 --warmup 0 --json",
                                     "bench preference " + model + " --prompt 6 --answer 6 --steps 1 --warmup 0 --json"}) {
    const RunResult r = run_whet(command);
    ASSERT_EQ(r.exit_code, 0) << command << "\n" << r.err;
    EXPECT_NE(r.out.find("\"tokens_per_s\""), std::string::npos) << command << "\n" << r.out;
    // GRPO's step counts prompt + completion of its 3 rollouts, each completion whole (end tokens masked).
    if (command.find("--method grpo") != std::string::npos) {
      EXPECT_NE(r.out.find("\"step_tokens\":48"), std::string::npos) << r.out;
    }
  }
}

TEST(Cli, MissingModelIsAClearError) {
  const RunResult r = run_whet("info /nonexistent/model.gguf");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/model.gguf"), std::string::npos) << r.err;
}

TEST(Cli, CorruptModelIsAClearError) {
  const std::string path = test::scratch_dir("cli_corrupt") + "/bad.gguf";
  std::ofstream(path) << "GGUF this is not really a model";
  const RunResult r = run_whet("info " + path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
}

TEST(Cli, UnknownOptionFails) {
  EXPECT_NE(run_whet("generate --no-such-option").exit_code, 0);
}

class RealModel : public ::testing::Test {
 protected:
  void SetUp() override {
    WHET_REQUIRE_DEFAULT_MODEL();
  }
};

TEST_F(RealModel, InfoDescribesTheModel) {
  const RunResult r = run_whet("info " + test::default_model_path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* expected : {"llama", "30 layers", "Q4_1", "8192", "chatml", "<|im_end|>", "LoRA", "full fine-tuning"})
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
}

TEST_F(RealModel, GreedyAnswerMentionsParisAndIsDeterministic) {
  const std::string args = "generate " + test::default_model_path() +
                           " --temperature 0 --max-tokens 40 --prompt 'What is the capital of France?'";
  const RunResult first = run_whet(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("Paris"), std::string::npos) << first.out;
  EXPECT_NE(first.err.find("tokens/s"), std::string::npos) << first.err;
  EXPECT_EQ(run_whet(args).out, first.out);
}

// The stopped answer is the unstopped one cut just before its first "Paris":
// not empty, the text before the stop string kept, the stop string dropped.
TEST_F(RealModel, StopStringEndsTheAnswer) {
  const std::string args = "generate " + test::default_model_path() +
                           " --temperature 0 --max-tokens 40 --prompt 'What is the capital of France?'";
  const RunResult whole = run_whet(args);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const size_t paris = whole.out.find("Paris");
  ASSERT_NE(paris, std::string::npos) << whole.out;
  ASSERT_GT(paris, 0u) << "the answer must have text before the stop string: " << whole.out;
  const RunResult stopped = run_whet(args + " --stop Paris");
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  std::string text = stopped.out;
  if (text.ends_with('\n')) text.pop_back();  // the command ends its output with a line break
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.find("Paris"), std::string::npos) << text;
  EXPECT_EQ(text, whole.out.substr(0, paris)) << "whole answer: " << whole.out;
}

TEST_F(RealModel, ChatKeepsHistory) {
  const std::string dir = test::scratch_dir("cli_chat");
  // Asked alone, the model cannot know the city (it echoes the question); with history it answers Berlin.
  std::ofstream(dir + "/input") << "I live in Berlin.\nIn which city do I live?\n";
  const RunResult r = run_whet("chat " + test::default_model_path() + " --temperature 0 --max-tokens 30 < " + dir + "/input");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t second_answer = r.out.find('\n');
  ASSERT_NE(second_answer, std::string::npos);
  EXPECT_NE(r.out.find("Berlin", second_answer), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("cached"), std::string::npos);
}

}  // namespace
}  // namespace whet
