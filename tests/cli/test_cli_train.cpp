// `whet train` as a user runs it: the config help, a clear error for a bad key,
// a flags-only run on a tiny model, and Ctrl-C leaving a checkpoint that
// --resume continues from.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <fstream>

#include "cli/run_whet.h"
#include "test_support.h"
#include "train/train_config.h"

namespace whet {
namespace {

using test::run_whet;

std::string tiny_model() { return test::testdata_path("tiny/gqa_tied/hf"); }

std::string write_data(const std::string& dir) {
  const std::string path = dir + "/train.jsonl";
  std::ofstream out(path);
  for (int i = 0; i < 8; ++i)
    out << R"({"messages": [{"role": "user", "content": "the sea )" << i
        << R"("}, {"role": "assistant", "content": "the tin in the sea"}]})" << "\n";
  return path;
}

TEST(CliTrain, HelpConfigListsEveryGroup) {
  const test::RunResult r = run_whet("train --help-config");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* key : {"learning_rate", "lora_r", "train_last_n_blocks", "gradient_accumulation_steps", "save_steps"})
    EXPECT_NE(r.out.find(key), std::string::npos) << key;
}

TEST(CliTrain, UnknownKeyIsAClearError) {
  const std::string dir = test::scratch_dir("cli_train_bad_key");
  const std::string config = dir + "/config.yaml";
  std::ofstream(config) << "output_dir: " << dir << "/run\ntrain_data: " << write_data(dir) << "\nlearning_rte: 0.1\n";
  const test::RunResult r = run_whet("train " + config);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("config.yaml:3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("learning_rate"), std::string::npos) << r.err;
}

TEST(CliTrain, FlagsOnlyRunWritesAnAdapter) {
  const std::string dir = test::scratch_dir("cli_train_flags");
  const test::RunResult r = run_whet("train --model " + tiny_model() + " --data " + write_data(dir) +
                                     " --method lora --epochs 1 --output " + dir + "/run --set sample_packing=false");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, dir + "/run/adapter\n");
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/adapter/adapter_model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/metrics.jsonl"));
  EXPECT_NE(r.err.find("step 8/8"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("forgetting gate: passed"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/adapter/gate.json"));
}

// Every rl method runs from flags and defaults alone, as supervised training
// does: the same --data, --method, --epochs and --output (grpo adds its --grader).
TEST(CliTrain, EveryRlMethodRunsFromFlagsAlone) {
  const std::string dir = test::scratch_dir("cli_train_rl_flags");
  const auto write = [&](const std::string& name, const std::function<std::string(int)>& line) {
    std::ofstream out(dir + "/" + name);
    for (int i = 0; i < 6; ++i) out << line(i) << "\n";
    return dir + "/" + name;
  };
  const auto user = [](int i) { return fmt::format(R"([{{"role": "user", "content": "the sea {}"}}])", i); };
  const std::string pairs = write("pairs.jsonl", [&](int i) {
    return fmt::format(R"({{"prompt": {}, "chosen": [{{"role": "assistant", "content": "the tin {}"}}], )"
                       R"("rejected": [{{"role": "assistant", "content": "the oak {}"}}]}})", user(i), i, i);
  });
  const std::string labelled = write("kto.jsonl", [&](int i) {
    return fmt::format(R"({{"prompt": {}, "completion": [{{"role": "assistant", "content": "the {} {}"}}], )"
                       R"("label": {}}})", user(i), i % 2 ? "oak" : "tin", i, i % 2 ? "false" : "true");
  });
  const std::string prompts = write("prompts.jsonl", [&](int i) {
    return fmt::format(R"({{"messages": {}, "answer": "the tin {}"}})", user(i), i);
  });
  std::ofstream(dir + "/grader.yaml") << "type: string_check\nname: tin\ninput: \"{{sample.output_text}}\"\n"
                                         "reference: tin\noperation: like\n";
  for (const std::string method : {"dpo", "simpo", "orpo", "kto", "reward", "grpo"}) {
    SCOPED_TRACE(method);
    const std::string data = method == "kto" ? labelled : method == "grpo" ? prompts : pairs;
    const std::string grader = method == "grpo" ? " --grader " + dir + "/grader.yaml" : "";
    const std::string run = dir + "/" + method;
    const test::RunResult r = run_whet("train --model " + tiny_model() + " --data " + data + " --method " + method +
                                       grader + " --epochs 1 --output " + run);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, run + "/adapter\n");
    EXPECT_TRUE(std::filesystem::exists(run + "/adapter/adapter_model.safetensors"));
    EXPECT_EQ(std::filesystem::exists(run + "/adapter/classifier_config.json"), method == "reward");
    EXPECT_EQ(load_train_config(run + "/config.yaml", {}).rl, method);
    EXPECT_NE(r.err.find("step 6/6"), std::string::npos) << r.err;
    // A reward model scores answers; it is not asked for general text, so it has no forgetting gate.
    EXPECT_EQ(r.err.find("forgetting gate: passed") != std::string::npos, method != "reward") << r.err;
  }
}

// A run whose model lost more general ability than allowed keeps its outputs
// (to inspect) but exits with code 3, so a script or CI stops there.
TEST(CliTrain, AFailedGateExitsWithCode3) {
  const std::string dir = test::scratch_dir("cli_train_gate");
  const test::RunResult r = run_whet("train --model " + tiny_model() + " --data " + write_data(dir) +
                                     " --method full --lr 0.03 --epochs 3 --output " + dir +
                                     "/run --replay none --set sample_packing=false --set max_perplexity_rise=0");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("forgetting gate: FAILED"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/model/model.safetensors"));
}

// Each shorthand flag sets its key; the keys given nowhere are decided from the
// data, printed first with their reasons, and saved resolved in config.yaml.
TEST(CliTrain, ShorthandFlagsSetTheirKeysAndTheRestIsDecidedFromTheData) {
  const std::string dir = test::scratch_dir("cli_train_shorthands");
  const test::RunResult r =
      run_whet("train --model " + tiny_model() + " --data " + write_data(dir) + " --output " + dir +
               "/run --weights f32 --lora-r 4 --lora-targets [q,v] --batch-size 2 --max-steps 3 --seq-len 64 "
               "--val-set-size 0.25 --lr 0.01 --threads 1 --seed 7 --packing false --eval-steps 1 --patience 0 "
               "--replay general --replay-ratio 0.5 --distill 0.5 --ewc 2 --forgetting-gate false");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.starts_with("auto: lora_alpha 8 (")) << r.err;  // follows the given rank
  EXPECT_NE(r.err.find("auto: num_epochs "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("auto: lora_r"), std::string::npos) << r.err;
  const TrainConfig saved = load_train_config(dir + "/run/config.yaml", {});
  EXPECT_EQ(saved.weights, "f32");
  EXPECT_EQ(saved.lora_r, 4);
  EXPECT_EQ(saved.lora_alpha, 8);
  EXPECT_EQ(saved.lora_target_modules, (std::vector<std::string>{"q", "v"}));
  EXPECT_EQ(saved.micro_batch_size, 2);
  EXPECT_EQ(saved.max_steps, 3);
  EXPECT_EQ(saved.sequence_len, 64);
  EXPECT_DOUBLE_EQ(saved.val_set_size, 0.25);
  EXPECT_DOUBLE_EQ(saved.learning_rate, 0.01);
  EXPECT_EQ(saved.threads, 1);
  EXPECT_EQ(saved.seed, 7);
  EXPECT_EQ(saved.sample_packing, false);
  EXPECT_EQ(saved.eval_steps, 1);
  EXPECT_EQ(saved.early_stopping_patience, 0);
  EXPECT_NE(saved.num_epochs, kAuto);
  EXPECT_EQ(saved.replay_data, "general");
  EXPECT_DOUBLE_EQ(saved.replay_ratio, 0.5);
  EXPECT_DOUBLE_EQ(saved.distill_weight, 0.5);
  EXPECT_DOUBLE_EQ(saved.ewc_lambda, 2.0);
  EXPECT_FALSE(saved.forgetting_gate);
  const test::RunResult bad = run_whet("train --data x.jsonl --output " + dir + "/bad --epochs many");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("num_epochs"), std::string::npos) << bad.err;
}

// Ctrl-C (SIGINT) mid-run: a checkpoint, exit status 130, and --resume finishes the run.
TEST(CliTrain, InterruptCheckpointsAndResumeContinues) {
  const std::string dir = test::scratch_dir("cli_train_interrupt");
  const std::string args = "train --model " + tiny_model() + " --data " + write_data(dir) + " --output " + dir +
                           "/run --set save_steps=100000 --set forgetting_gate=false";
  const test::RunResult stopped =
      test::run_whet_command("timeout --preserve-status -s INT 3 " + test::whet_path() + " " + args +
                             " --set max_steps=100000000");
  EXPECT_EQ(stopped.exit_code, 130) << stopped.err;
  EXPECT_NE(stopped.err.find("interrupted"), std::string::npos) << stopped.err;
  std::string checkpoint;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/run/checkpoints")) checkpoint = entry.path();
  ASSERT_FALSE(checkpoint.empty());
  const long long step = std::stoll(std::filesystem::path(checkpoint).filename().string().substr(5));
  EXPECT_GT(step, 0);

  const test::RunResult resumed = run_whet(args + " --resume --set max_steps=" + std::to_string(step + 2));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resumed from"), std::string::npos) << resumed.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/adapter/adapter_config.json"));
}

}  // namespace
}  // namespace whet
