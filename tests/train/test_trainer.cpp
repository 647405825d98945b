// Whole training runs on the tiny models: each method lowers validation loss,
// writes its outputs, resumes onto the same loss curve, and gradient
// accumulation matches one large batch; the run's first step is train_step.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/dtype.h"
#include "data/dataset.h"
#include "io/safetensors.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "test_support.h"
#include "train/train_step.h"
#include "train/trainer.h"

namespace whet {
namespace {

// Question/answer pairs about made-up facts, as chat data.
std::string write_chat_data(const std::string& dir, const std::string& name, int count, int offset) {
  const std::string path = dir + "/" + name;
  std::ofstream out(path);
  for (int i = 0; i < count; ++i) {
    const int n = offset + i;
    nlohmann::json line = {{"messages",
                            {{{"role", "user"}, {"content", "the sea " + std::to_string(n % 7)}},
                             {{"role", "assistant"}, {"content", "the tin " + std::to_string(n % 7) + " in the sea"}}}}};
    out << line.dump() << "\n";
  }
  return path;
}

TrainConfig tiny_config(const std::string& name, TrainMethod method) {
  const std::string dir = test::scratch_dir("trainer_" + name);
  TrainConfig c;
  c.base_model = test::testdata_path("tiny/gqa_tied/hf");
  c.output_dir = dir + "/run";
  c.method = method;
  c.train_data = {write_chat_data(dir, "train.jsonl", 24, 0)};
  c.val_data = {write_chat_data(dir, "val.jsonl", 6, 100)};
  c.sequence_len = 64;
  c.num_epochs = 2;
  c.micro_batch_size = 2;
  c.learning_rate = method == TrainMethod::Lora ? 1e-2 : 3e-3;
  c.lora_dropout = 0.0;
  c.lr_scheduler = LrScheduler::Constant;
  c.forgetting_gate = false;  // its own test below
  c.replay_data = "";         // the defences have their own tests below
  c.distill_weight = 0;
  // Pinned, not auto: the step-by-step checks below build the learner from this config.
  c.sample_packing = true;
  c.lora_r = 16;
  c.lora_alpha = 32;
  c.lora_target_modules = {"q", "k", "v", "o"};
  c.eval_steps = 0;
  c.early_stopping_patience = 0;
  return c;
}

// Every step line's value of `key` in metrics.jsonl.
std::vector<double> logged(const std::string& run_dir, const std::string& key) {
  std::vector<double> out;
  std::ifstream in(run_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.contains("loss")) out.push_back(j.value(key, std::nan("")));
  }
  return out;
}

std::vector<double> losses(const std::string& run_dir) { return logged(run_dir, "loss"); }

class EveryMethod : public testing::TestWithParam<TrainMethod> {};

TEST_P(EveryMethod, LowersValidationLossAndWritesOutputs) {
  TrainConfig c = tiny_config("method_" + std::to_string(int(GetParam())), GetParam());
  c.train_last_n_blocks = 1;
  const TrainRunResult r = run_training(c, {});
  EXPECT_FALSE(r.interrupted);
  EXPECT_LT(r.best_val_loss, r.first_val_loss - 0.1) << "first " << r.first_val_loss << " best " << r.best_val_loss;
  const std::vector<double> curve = losses(c.output_dir);
  ASSERT_EQ(int64_t(curve.size()), r.steps);
  EXPECT_LT(curve.back(), curve.front());
  namespace fs = std::filesystem;
  EXPECT_TRUE(fs::exists(c.output_dir + "/config.yaml"));
  if (GetParam() == TrainMethod::Lora) {
    EXPECT_TRUE(fs::exists(r.output + "/adapter_config.json"));
    const LoadedModel base = load_model(c.base_model);
    EXPECT_EQ(load_peft_adapter(r.output, base.model.config).config.rank, c.lora_r);
  } else {
    EXPECT_TRUE(fs::exists(r.output + "/model.safetensors"));
    EXPECT_TRUE(fs::exists(r.output + "/model.gguf"));
    EXPECT_NO_THROW(load_model(r.output + "/model.gguf"));
  }
}

// GPT-2 (learned positions, LayerNorms with biases, fused c_attn in Conv1D files)
// learns by full fine-tuning and with frozen blocks; the model written back loads
// from both of its files. Rows stay within its 40 positions.
TEST(Trainer, Gpt2LearnsWithFullAndFrozenWeights) {
  for (TrainMethod method : {TrainMethod::Full, TrainMethod::Freeze}) {
    SCOPED_TRACE(int(method));
    TrainConfig c = tiny_config("gpt2_" + std::to_string(int(method)), method);
    c.base_model = test::testdata_path("tiny/gpt2_tiny/hf");
    c.sequence_len = 40;
    c.train_last_n_blocks = 1;
    const TrainRunResult r = run_training(c, {});
    EXPECT_LT(r.best_val_loss, r.first_val_loss - 0.1) << "first " << r.first_val_loss << " best " << r.best_val_loss;
    EXPECT_EQ(load_model(r.output).model.config.family, "gpt2");
    EXPECT_EQ(load_model(r.output + "/model.gguf").model.config.family, "gpt2");
  }
}

// Rows longer than GPT-2's positions are refused before the run starts, naming the key.
TEST(Trainer, Gpt2RefusesASequenceLenPastItsPositions) {
  TrainConfig c = tiny_config("gpt2_long", TrainMethod::Full);
  c.base_model = test::testdata_path("tiny/gpt2_tiny/hf");
  c.sequence_len = 64;
  try {
    run_training(c, {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("sequence_len 64"), std::string::npos) << message;
    EXPECT_NE(message.find("at most 40"), std::string::npos) << message;
  }
}

// The trainer's step is train_step, the function `whet bench train` times: called
// directly on the first batch of a run, it gives the loss, learning rate and
// gradient norm the run logs for step 1, and the trainable tensors of its step-1
// checkpoint. A step that differed (in scaling, clipping, schedule, dropout
// seeds or batch) would move the weights by up to the learning rate.
TEST_P(EveryMethod, FirstStepIsTrainStep) {
  TrainConfig c = tiny_config("first_step_" + std::to_string(int(GetParam())), GetParam());
  c.train_last_n_blocks = 1;
  c.lora_dropout = 0.1;  // the masks must be seeded as the trainer seeds them
  // A first AdamW update hardly depends on the gradient's scale; SGD's is the
  // clipped gradient times lr, so scaling and clipping show in the weights.
  if (GetParam() != TrainMethod::Lora) c.optimizer = OptimizerKind::Sgd;
  c.gradient_accumulation_steps = 2;
  c.max_steps = 1;
  c.save_steps = 1;
  run_training(c, {});
  std::ifstream log(c.output_dir + "/metrics.jsonl");
  nlohmann::json logged;
  for (std::string line; std::getline(log, line) && !logged.contains("loss");) logged = nlohmann::json::parse(line);
  ASSERT_EQ(logged.value("step", 0), 1);
  const SafetensorsFile checkpoint =
      SafetensorsFile::open(c.output_dir + "/checkpoints/step-1/trainable.safetensors");

  const bool trains_base = GetParam() != TrainMethod::Lora;
  LoadedModel loaded = load_model(c.base_model, trains_base ? WeightFormat::F32 : WeightFormat::Native);
  if (trains_base) own_trainable_weights(loaded);
  DataOptions options;
  options.sequence_len = c.sequence_len;
  options.seed = uint64_t(c.seed);
  const ChatTemplate chat = loaded.chat_template ? *loaded.chat_template : ChatTemplate::by_name("alpaca");
  const Dataset data = load_dataset(c.train_data, c.val_data, loaded.tokenizer, chat, options);
  ASSERT_GE(data.train.size(), 4u);
  const std::vector<const TrainingSequence*> batch = {&data.train[0], &data.train[1], &data.train[2], &data.train[3]};
  Learner learner = make_learner(loaded, c, initial_first_trainable_block(c, loaded.model.config));
  std::vector<std::vector<float>> before;
  for (const Parameter& p : learner.trainable.parameters) before.emplace_back(p.value, p.value + p.numel);
  LlamaActivations acts(loaded.model.config, c.sequence_len, learner.trainable.lora ? c.lora_r : 0);
  const StepResult step = train_step(loaded, learner, acts, batch, step_settings(c, c.max_steps), 0);

  ASSERT_TRUE(step.updated);
  // Every kernel sums in a fixed order for a given thread count, so the same
  // step gives the same numbers bit for bit.
  EXPECT_EQ(step.loss, logged.at("loss").get<double>());
  EXPECT_EQ(step.lr, logged.at("lr").get<double>());
  EXPECT_EQ(step.grad_norm, logged.at("grad_norm").get<double>());
  bool moved = false;
  for (size_t i = 0; i < learner.trainable.parameters.size(); ++i) {
    const Parameter& p = learner.trainable.parameters[i];
    const TensorView* saved = checkpoint.find_tensor(p.name);
    ASSERT_NE(saved, nullptr) << p.name;
    ASSERT_EQ(saved->numel(), p.numel) << p.name;
    const float* checkpointed = reinterpret_cast<const float*>(saved->data);
    float worst = 0.0f;
    for (int64_t j = 0; j < p.numel; ++j) {
      worst = std::max(worst, std::abs(checkpointed[j] - p.value[j]));
      moved = moved || p.value[j] != before[i][size_t(j)];
    }
    EXPECT_EQ(worst, 0.0f) << p.name;
  }
  EXPECT_TRUE(moved);
}

std::string method_name(const testing::TestParamInfo<TrainMethod>& info) {
  static const char* const kNames[] = {"full", "freeze", "lora"};
  return kNames[int(info.param)];
}

INSTANTIATE_TEST_SUITE_P(Methods, EveryMethod, testing::Values(TrainMethod::Lora, TrainMethod::Full, TrainMethod::Freeze),
                         method_name);

// The run stopped after step 3 (as Ctrl-C stops it), then resumed to its end.
TrainRunResult run_stopped_and_resumed(const TrainConfig& c) {
  std::atomic<bool> stop{false};
  TrainRunOptions first;
  first.stop = &stop;
  first.on_report = [&](const StepReport& r) {
    if (!r.is_eval && r.step == 3) stop = true;
  };
  const TrainRunResult interrupted = run_training(c, first);
  EXPECT_TRUE(interrupted.interrupted);
  EXPECT_EQ(interrupted.steps, 3);
  TrainRunOptions second;
  second.resume = true;
  return run_training(c, second);
}

// Stopped after step 3 (as Ctrl-C stops it), then resumed: the same losses as a run never stopped.
TEST(Trainer, ResumedRunFollowsTheSameLossCurve) {
  TrainConfig c = tiny_config("resume_whole", TrainMethod::Lora);
  c.lora_dropout = 0.1;  // dropout masks must follow the step, not the process
  c.lr_scheduler = LrScheduler::Cosine;
  c.warmup_steps = 2;
  const TrainRunResult whole = run_training(c, {});

  TrainConfig split = c;
  split.output_dir = test::scratch_dir("trainer_resume_split") + "/run";
  const TrainRunResult resumed = run_stopped_and_resumed(split);
  EXPECT_EQ(resumed.steps, whole.steps);

  const std::vector<double> a = losses(c.output_dir), b = losses(split.output_dir);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_DOUBLE_EQ(a[i], b[i]) << "step " << i + 1;
  EXPECT_DOUBLE_EQ(whole.best_val_loss, resumed.best_val_loss);
}


// Replay of the built-in general corpus with distillation on every token: the
// replay and distillation losses are logged on exactly the steps the replay
// schedule gives sequences to (distillation on all of them), distillation
// starts at 0 (a new adapter is its base), and a resumed run repeats all three curves.
TEST(Trainer, ReplayAndDistillationAreLoggedAndResume) {
  TrainConfig c = tiny_config("replay_whole", TrainMethod::Lora);
  c.replay_data = "general";
  c.replay_ratio = 0.25;  // micro-batch 2: one replay sequence every other step
  c.distill_weight = 1.0;
  c.distill_on = "all";
  c.lora_dropout = 0.1;
  const TrainRunResult whole = run_training(c, {});
  const std::vector<double> replay = logged(c.output_dir, "replay_loss"), distill = logged(c.output_dir, "distill_loss");
  ASSERT_EQ(int64_t(replay.size()), whole.steps);
  for (size_t i = 0; i < replay.size(); ++i) {
    EXPECT_EQ(std::isnan(replay[i]), i % 2 == 0) << "step " << i + 1;  // steps 2, 4, ... take one
    EXPECT_FALSE(std::isnan(distill[i])) << "step " << i + 1;
  }
  EXPECT_EQ(distill[0], 0.0);
  EXPECT_GT(distill.back(), 0.0);

  TrainConfig split = c;
  split.output_dir = test::scratch_dir("trainer_replay_split") + "/run";
  run_stopped_and_resumed(split);
  for (const char* key : {"loss", "replay_loss", "distill_loss"}) {
    const std::vector<double> a = logged(c.output_dir, key), b = logged(split.output_dir, key);
    ASSERT_EQ(a.size(), b.size()) << key;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!std::isnan(a[i]) || !std::isnan(b[i])) {
        EXPECT_DOUBLE_EQ(a[i], b[i]) << key << " step " << i + 1;
      }
    }
  }
}

// On a bf16 base the student's attention multiplies in bf16: the teacher's must
// too, or distillation would start above 0 and train the adapter to undo rounding.
TEST(Trainer, DistillationStartsAtZeroOnABf16Base) {
  TrainConfig c = tiny_config("distill_bf16", TrainMethod::Lora);
  c.weights = "bf16";
  c.distill_weight = 1.0;
  c.distill_on = "all";
  c.max_steps = 2;
  run_training(c, {});
  const std::vector<double> distill = logged(c.output_dir, "distill_loss");
  ASSERT_FALSE(distill.empty());
  EXPECT_EQ(distill[0], 0.0);
}

// micro-batch 1 × 4 accumulation steps is the same update as micro-batch 4:
// losses are averaged over all targets of the step either way.
TEST(Trainer, GradientAccumulationMatchesOneLargeBatch) {
  TrainConfig plain = tiny_config("accum_plain", TrainMethod::Full);
  plain.micro_batch_size = 4;
  plain.gradient_accumulation_steps = 1;
  TrainConfig accumulated = tiny_config("accum_split", TrainMethod::Full);
  accumulated.micro_batch_size = 1;
  accumulated.gradient_accumulation_steps = 4;
  run_training(plain, {});
  run_training(accumulated, {});
  const std::vector<double> a = losses(plain.output_dir), b = losses(accumulated.output_dir);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5 * std::abs(a[i])) << "step " << i + 1;
}

// Freeze run on the 2-block model: block 1 trains from the start, block 0 joins after 2 steps.
TEST(Trainer, GradualUnfreezingReleasesBlocksFromTheTop) {
  TrainConfig c = tiny_config("gradual_unfreeze", TrainMethod::Freeze);
  c.train_last_n_blocks = 1;
  c.gradual_unfreeze_every_steps = 2;
  c.max_steps = 4;
  c.save_steps = 1;
  c.save_total_limit = 0;
  std::vector<std::string> messages;
  TrainRunOptions o;
  o.on_message = [&](const std::string& m) { messages.push_back(m); };
  const TrainRunResult r = run_training(c, o);
  ASSERT_EQ(r.steps, 4);
  auto optimizer_has = [&](int step, const std::string& tensor) {
    const SafetensorsFile f =
        SafetensorsFile::open(c.output_dir + "/checkpoints/step-" + std::to_string(step) + "/optimizer.safetensors");
    return f.find_tensor(tensor + ".exp_avg") != nullptr;
  };
  EXPECT_TRUE(optimizer_has(1, "blk.1.attn_q.weight"));
  EXPECT_FALSE(optimizer_has(1, "blk.0.attn_q.weight"));
  EXPECT_TRUE(optimizer_has(3, "blk.0.attn_q.weight"));
  EXPECT_NE(std::find_if(messages.begin(), messages.end(),
                         [](const std::string& m) { return m.find("blocks 0..1 now train") != std::string::npos; }),
            messages.end());
  // Released, block 0 really moved: the written model differs from the base there.
  const LoadedModel base = load_model(c.base_model), tuned = load_model(r.output);
  std::vector<float> a(base.model.weights.layers[0].q.cols), b(a.size());
  weight_row_f32(base.model.weights.layers[0].q, 0, a.data());
  weight_row_f32(tuned.model.weights.layers[0].q, 0, b.data());
  EXPECT_NE(a, b);
}

TEST(Trainer, EarlyStoppingEndsTheRun) {
  TrainConfig c = tiny_config("early_stop", TrainMethod::Full);
  c.learning_rate = 0.5;  // diverges, so validation loss stops improving at once
  c.num_epochs = 20;
  c.eval_steps = 1;
  c.early_stopping_patience = 2;
  const TrainRunResult r = run_training(c, {});
  EXPECT_TRUE(r.stopped_early);
  EXPECT_LT(r.steps, 20 * 12);
  EXPECT_TRUE(std::filesystem::exists(c.output_dir + "/best/model.safetensors"));
  // The run's output is the best evaluation's, not the diverged last step's.
  auto bytes = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(r.output, c.output_dir + "/model");
  EXPECT_EQ(bytes(r.output + "/model.safetensors"), bytes(c.output_dir + "/best/model.safetensors"));
  EXPECT_FALSE(bytes(r.output + "/model.safetensors").empty());
}

// `threads` (whet train --threads) sets the OpenMP threads of the run's thread;
// 0 leaves them as they were. In threads of their own, so the test process keeps its count.
TEST(Trainer, ThreadsSetTheRunsWorkerThreads) {
  auto threads_after_run = [](int64_t threads, const std::string& name) {
    int after = 0;
    std::thread([&] {
      omp_set_num_threads(2);
      TrainConfig c = tiny_config(name, TrainMethod::Lora);
      c.num_epochs = 1;
      c.threads = threads;
      run_training(c, {});
      after = omp_get_max_threads();
    }).join();
    return after;
  };
  EXPECT_EQ(threads_after_run(1, "threads_one"), 1);
  EXPECT_EQ(threads_after_run(0, "threads_all"), 2);
}

// eval_steps without validation data or eval_task would evaluate nothing: the
// run's first line says so. With validation data it does not.
TEST(Trainer, EvalStepsWithNothingToEvaluateWarnsFirst) {
  TrainConfig c = tiny_config("nothing_to_evaluate", TrainMethod::Lora);
  c.val_data.clear();
  c.eval_steps = 2;
  c.max_steps = 2;
  std::vector<std::string> lines;
  TrainRunOptions options;
  options.on_message = [&](const std::string& line) { lines.push_back(line); };
  run_training(c, options);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("WARNING: eval_steps 2 set"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("nothing will be evaluated"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("val_set_size"), std::string::npos) << lines[0];

  TrainConfig with_validation = tiny_config("something_to_evaluate", TrainMethod::Lora);
  with_validation.eval_steps = 2;
  with_validation.max_steps = 2;
  lines.clear();
  run_training(with_validation, options);
  for (const std::string& line : lines) EXPECT_EQ(line.find("WARNING"), std::string::npos) << line;
}

// The reports of a run's training steps, as the progress line receives them.
std::vector<StepReport> step_reports(const TrainConfig& c) {
  std::vector<StepReport> reports;
  TrainRunOptions options;
  options.on_report = [&](const StepReport& r) {
    if (!r.is_eval) reports.push_back(r);
  };
  run_training(c, options);
  return reports;
}

// Each step logs examples per second beside tokens per second (kept for older
// readers of metrics.jsonl), and a time left that reaches 0 at the last step.
TEST(Trainer, StepsReportExamplesPerSecondAndTimeLeft) {
  TrainConfig c = tiny_config("examples_per_s", TrainMethod::Lora);
  c.max_steps = 3;
  const std::vector<StepReport> reports = step_reports(c);
  ASSERT_EQ(reports.size(), 3u);
  for (const StepReport& r : reports) {
    EXPECT_GT(r.examples_per_s, 0.0);
    EXPECT_GE(r.eta_s, 0.0);
  }
  EXPECT_EQ(reports.back().eta_s, 0.0);
  std::ifstream in(c.output_dir + "/metrics.jsonl");
  int steps = 0;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (!j.contains("loss")) continue;
    ++steps;
    EXPECT_GT(j.at("examples_per_s").get<double>(), 0.0) << line;
    EXPECT_GT(j.at("tokens_per_s").get<double>(), 0.0) << line;
  }
  EXPECT_EQ(steps, 3);
}

// A head on a frozen base computes its features in the first epoch and reuses
// them after: until a later epoch has run, only the rest of the current epoch is
// estimated, so the last step of the first epoch has nothing left to estimate.
// A classification head alone on the frozen tiny model: 8 labelled lines, 4 steps of 2 per epoch.
TrainConfig frozen_head_config(const std::string& name) {
  TrainConfig c = tiny_config(name, TrainMethod::Freeze);
  const std::string data = test::scratch_dir("trainer_" + name + "_data") + "/labelled.jsonl";
  {
    std::ofstream out(data);
    for (int n = 0; n < 8; ++n)
      out << nlohmann::json({{"prompt", n % 2 ? "the sea" : "the tin"}, {"label", n % 2 ? "sea" : "tin"}}).dump() << "\n";
  }
  c.train_data = {data};
  c.val_data.clear();
  c.task_type = "seq_cls";
  c.train_last_n_blocks = 0;
  c.train_norms = false;
  return c;
}

TEST(Trainer, FrozenHeadEstimatesTheFirstEpochAloneUntilALaterOneRan) {
  TrainConfig c = frozen_head_config("head_eta");
  c.num_epochs = 3;  // 4 steps of 2 examples each
  const std::vector<StepReport> reports = step_reports(c);
  ASSERT_EQ(reports.size(), 12u);
  EXPECT_GT(reports[0].eta_s, 0.0);  // three more steps of the first epoch
  EXPECT_EQ(reports[3].eta_s, 0.0);  // the first epoch done; the cached ones not measured yet
  EXPECT_GT(reports[4].eta_s, 0.0);  // measured: seven more cached steps
}

// A head on a frozen base leaves the language model as it was: the gate says
// so and judges nothing, rather than comparing the base with itself.
TEST(Trainer, TheGateHasNothingToJudgeForAHeadOnAFrozenBase) {
  TrainConfig c = frozen_head_config("head_gate");
  c.forgetting_gate = true;
  c.num_epochs = 1;
  std::vector<std::string> lines;
  TrainRunOptions options;
  options.on_message = [&](const std::string& line) { lines.push_back(line); };
  const TrainRunResult r = run_training(c, options);
  EXPECT_FALSE(r.gate.has_value());
  EXPECT_FALSE(read_gate_verdict(c.output_dir).has_value());
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(),
                          [](const std::string& l) { return l.find("nothing to judge") != std::string::npos; }));
}

// Full fine-tuning with weights bf16 multiplies a bf16 copy of the weights, but
// trains f32 masters, and those are what the run writes: values bf16 cannot hold.
TEST(Trainer, FullFineTuningWithBf16ComputeWritesItsF32Masters) {
  TrainConfig c = tiny_config("full_bf16", TrainMethod::Full);
  c.weights = "bf16";
  const TrainRunResult r = run_training(c, {});
  EXPECT_LT(r.best_val_loss, r.first_val_loss);
  const LoadedModel trained = load_model(r.output, WeightFormat::F32);
  int64_t values = 0, finer_than_bf16 = 0;
  for_each_weight(trained.model.weights, trained.model.config, [&](const std::string&, const Weight& w) {
    if (w.rows <= 1) return;
    const float* v = reinterpret_cast<const float*>(w.data);
    for (int64_t i = 0; i < w.numel(); ++i, ++values) finer_than_bf16 += bf16_to_f32(f32_to_bf16(v[i])) != v[i];
  });
  EXPECT_GT(finer_than_bf16, values / 2);
}

// A task metric chooses the best outputs and drives early stopping: eval_task
// is scored at every evaluation and logged beside the validation loss.
TEST(Trainer, TaskMetricIsLoggedAndSelectsTheBestOutputs) {
  TrainConfig c = tiny_config("task_metric", TrainMethod::Lora);
  const std::string task = test::scratch_dir("trainer_task_metric_task") + "/eval.jsonl";
  {
    std::ofstream out(task);
    for (int n = 0; n < 7; ++n) {
      nlohmann::json line = {{"messages", {{{"role", "user"}, {"content", "the sea " + std::to_string(n)}}}},
                             {"label", "the tin " + std::to_string(n) + " in the sea"}};
      out << line.dump() << "\n";
    }
  }
  c.eval_task = task;
  c.metric_for_best_model = "macro_f1";
  c.eval_steps = 2;
  c.early_stopping_patience = 50;
  const TrainRunResult r = run_training(c, {});
  std::ifstream in(c.output_dir + "/metrics.jsonl");
  std::vector<double> f1;
  std::vector<int64_t> steps;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.contains("val_loss")) {
      ASSERT_TRUE(j.contains("eval_accuracy")) << line;
      f1.push_back(j.at("eval_macro_f1").get<double>());
      steps.push_back(j.at("step").get<int64_t>());
    }
  }
  ASSERT_GE(f1.size(), 3u);
  // The label set is the seven answers; training on them must lift macro F1 above the base model's.
  const auto best = std::max_element(f1.begin(), f1.end());
  EXPECT_GT(*best, f1.front()) << r.steps;
  // The best outputs are those of the first evaluation with the highest macro F1, not the lowest loss.
  const nlohmann::json state = nlohmann::json::parse(
      std::ifstream(c.output_dir + "/checkpoints/step-" + std::to_string(r.steps) + "/trainer_state.json"));
  EXPECT_EQ(state.at("best_step").get<int64_t>(), steps[size_t(best - f1.begin())]);
  EXPECT_DOUBLE_EQ(state.at("best_score").get<double>(), -*best);
  EXPECT_TRUE(std::filesystem::exists(c.output_dir + "/best/adapter_config.json"));

  TrainConfig unknown = c;
  unknown.metric_for_best_model = "bleu";
  test::expect_error([&] { run_training(unknown, {}); }, {"metric_for_best_model", "bleu", "accuracy, macro_f1"});
}

// The gate scores the base before training and the tuned model after, on the
// same general items, and writes its verdict into the run and the adapter. A
// tiny model trained hard on one phrase loses general text: with no allowance
// for a rise the run fails; with a generous one it passes; switched off, no verdict.
TEST(Trainer, TheForgettingGateJudgesTheRun) {
  TrainConfig c = tiny_config("gate", TrainMethod::Full);
  c.learning_rate = 3e-2;
  c.forgetting_gate = true;
  c.max_perplexity_rise = 0.0;
  const TrainRunResult strict = run_training(c, {});
  ASSERT_TRUE(strict.gate.has_value());
  EXPECT_FALSE(strict.gate->passed) << describe(*strict.gate);
  EXPECT_GT(strict.gate->general[0].change, 0.0);
  for (const std::string& dir : {c.output_dir, strict.output}) {
    const std::optional<GateRecord> record = read_gate_verdict(dir);
    ASSERT_TRUE(record.has_value()) << dir;
    EXPECT_FALSE(record->passed);
  }

  c.output_dir += "-lenient";
  c.max_perplexity_rise = 1e6;
  c.max_accuracy_drop = 1.0;
  const TrainRunResult lenient = run_training(c, {});
  ASSERT_TRUE(lenient.gate.has_value());
  EXPECT_TRUE(lenient.gate->passed) << describe(*lenient.gate);
  // The same data and seed: the general scores are the same as in the strict run.
  EXPECT_DOUBLE_EQ(lenient.gate->general[0].tuned, strict.gate->general[0].tuned);

  c.output_dir += "-off";
  c.forgetting_gate = false;
  const TrainRunResult off = run_training(c, {});
  EXPECT_FALSE(off.gate.has_value());
  EXPECT_FALSE(read_gate_verdict(c.output_dir).has_value());
}

// A penalty as logged at each of `steps` steps: 0 at the first, where θ = θ*, and grown by the last.
std::vector<double> logged_penalty(const std::string& run_dir, const std::string& key, size_t steps) {
  const std::vector<double> penalty = logged(run_dir, key);
  EXPECT_EQ(penalty.size(), steps);
  if (penalty.size() != steps) return penalty;
  EXPECT_EQ(penalty.front(), 0.0);
  EXPECT_GT(penalty.back(), 0.0);
  return penalty;
}

// EWC: the penalty is logged (0 at the first step, where θ = θ*), the Fisher and
// θ* are written to the run folder, and a resumed run reads them back instead of
// estimating again: with ewc_samples changed, its curve is still the whole run's.
TEST(Trainer, EwcPenaltyIsLoggedAndItsFisherReusedOnResume) {
  TrainConfig c = tiny_config("ewc_whole", TrainMethod::Lora);
  c.ewc_lambda = 50.0;
  c.ewc_samples = 4;
  c.max_steps = 6;
  c.save_steps = 3;
  run_training(c, {});
  const std::vector<double> penalty = logged_penalty(c.output_dir, "ewc_penalty", 6);
  const SafetensorsFile file = SafetensorsFile::open(c.output_dir + "/ewc.safetensors");
  EXPECT_EQ(file.metadata.at("samples"), "4");
  EXPECT_EQ(file.metadata.at("data"), "general");

  TrainConfig split = c;
  split.output_dir = test::scratch_dir("trainer_ewc_split") + "/run";
  split.max_steps = 3;
  run_training(split, {});
  split.max_steps = 6;
  split.ewc_samples = 1;  // would estimate another Fisher if the file were not reused
  TrainRunOptions resume;
  resume.resume = true;
  run_training(split, resume);
  EXPECT_EQ(SafetensorsFile::open(split.output_dir + "/ewc.safetensors").metadata.at("samples"), "4");
  const std::vector<double> resumed = logged(split.output_dir, "ewc_penalty");
  ASSERT_EQ(resumed.size(), penalty.size());
  for (size_t i = 0; i < penalty.size(); ++i) EXPECT_DOUBLE_EQ(resumed[i], penalty[i]) << "step " << i + 1;
}

// Σ (θ − θ0)² of a full run's final model against the base.
double distance_from_base(const TrainConfig& c) {
  LoadedModel base = load_model(c.base_model, WeightFormat::F32), trained = load_model(c.output_dir + "/model");
  double sum = 0.0;
  std::vector<float> a, b;
  for_each_weight(base.model.weights, base.model.config, [&](const std::string& name, Weight& w) {
    a.resize(size_t(w.cols));
    b.resize(size_t(w.cols));
    const Weight* other = nullptr;
    for_each_weight(trained.model.weights, trained.model.config, [&](const std::string& n, Weight& t) {
      if (n == name) other = &t;
    });
    for (int64_t r = 0; r < w.rows; ++r) {
      weight_row_f32(w, r, a.data());
      weight_row_f32(*other, r, b.data());
      for (size_t i = 0; i < a.size(); ++i) sum += double(a[i] - b[i]) * double(a[i] - b[i]);
    }
  });
  return sum;
}

// L2-SP pulls a full run towards the pretrained weights: it ends nearer them
// than the same run without it, and logs its penalty.
TEST(Trainer, L2spHoldsFullTrainingNearThePretrainedWeights) {
  TrainConfig free_run = tiny_config("l2sp_off", TrainMethod::Full);
  free_run.max_steps = 6;
  run_training(free_run, {});
  TrainConfig held = tiny_config("l2sp_on", TrainMethod::Full);
  held.max_steps = 6;
  held.l2sp_lambda = 5000.0;
  run_training(held, {});
  logged_penalty(held.output_dir, "l2sp_penalty", 6);
  EXPECT_TRUE(std::isnan(logged(free_run.output_dir, "l2sp_penalty").back())) << "logged although off";
  EXPECT_LT(distance_from_base(held), 0.5 * distance_from_base(free_run));
}

}  // namespace
}  // namespace whet
