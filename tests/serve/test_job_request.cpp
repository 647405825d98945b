// Fine-tuning job requests in both of OpenAI's shapes, normalised into the
// hyperparameters that run, and the training config they become.
#include <gtest/gtest.h>

#include "serve/api_error.h"
#include "serve/job_request.h"
#include "train/auto_settings.h"

namespace whet::serve {
namespace {

Job parse(const std::string& body) {
  return parse_job_request(
      body, [](const std::string& m) { return m == "base"; },
      [](const std::string& id) { return id == "file-a" || id == "file-b"; });
}

void expect_refused(const std::string& body, const std::string& param, int status = 400) {
  try {
    parse(body);
    ADD_FAILURE() << "accepted: " << body;
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, status) << body;
    EXPECT_EQ(e.param, param) << body << " -> " << e.what();
  }
}

TEST(JobRequest, LegacyHyperparametersAndDefaults) {
  const Job job = parse(R"({"model": "base", "training_file": "file-a", "validation_file": "file-b",
                            "suffix": "support-v2", "hyperparameters": {"n_epochs": 2, "batch_size": "auto"}})");
  EXPECT_EQ(job.model, "base");
  EXPECT_EQ(job.training_file, "file-a");
  EXPECT_EQ(job.validation_file, "file-b");
  EXPECT_EQ(job.suffix, "support-v2");
  EXPECT_EQ(job.method, "lora");
  EXPECT_EQ(job.hyperparameters["n_epochs"], 2);
  // Not given or "auto": decided from the data when the job runs, as `whet train` does.
  EXPECT_EQ(job.hyperparameters["batch_size"], "auto");
  EXPECT_EQ(job.hyperparameters["learning_rate"], "auto");
  EXPECT_EQ(job.hyperparameters["learning_rate_multiplier"], "auto");
  EXPECT_EQ(job.hyperparameters["lora_r"], "auto");
  EXPECT_EQ(job.hyperparameters["lora_alpha"], "auto");
  EXPECT_EQ(job.hyperparameters["sequence_len"], 512);
  const TrainConfig c = job_train_config(job, {"/m", "/t.jsonl", "/v.jsonl", "/out"});
  EXPECT_EQ(c.num_epochs, 2);
  EXPECT_EQ(c.micro_batch_size, kAuto);
  EXPECT_EQ(c.learning_rate, kAuto);
  EXPECT_EQ(c.lora_r, kAuto);
  EXPECT_EQ(c.lora_alpha, kAuto);
  EXPECT_TRUE(c.lora_target_modules.empty());
  EXPECT_EQ(c.val_data, (std::vector<std::string>{"/v.jsonl"}));
  EXPECT_DOUBLE_EQ(job_learning_rate_scale(job), 1.0);
}

TEST(JobRequest, ResolvedHyperparametersAreReportedBack) {
  Job job = parse(R"({"model": "base", "training_file": "file-a", "hyperparameters": {"n_epochs": 2}})");
  TrainConfig resolved = job_train_config(job, {"/m", "/t.jsonl", "", "/out"});
  resolve_auto_settings(resolved, DataShape{10, 556, false});
  report_resolved_hyperparameters(job, resolved);
  EXPECT_EQ(job.hyperparameters["n_epochs"], 2);  // as given
  EXPECT_EQ(job.hyperparameters["batch_size"], 1);
  // Two epochs of ten examples, 20 example passes: three times lora's 1e-3 (train/auto_settings.h).
  EXPECT_DOUBLE_EQ(job.hyperparameters["learning_rate"].get<double>(), 3e-3);
  EXPECT_DOUBLE_EQ(job.hyperparameters["learning_rate_multiplier"].get<double>(), 1.0);
  EXPECT_EQ(job.hyperparameters["lora_r"], 8);
  EXPECT_EQ(job.hyperparameters["lora_alpha"], 16);
  EXPECT_EQ(job.hyperparameters["replay_data"], "general");  // the defences decided by default
  EXPECT_DOUBLE_EQ(job.hyperparameters["distill_weight"].get<double>(), 1.0);
}

// The defences and the gate are a job's to choose, as a config's keys are.
TEST(JobRequest, DefencesAndTheGateAreHyperparameters) {
  Job job = parse(R"({"model": "base", "training_file": "file-a"})");
  EXPECT_EQ(job.hyperparameters["replay_data"], "auto");
  EXPECT_EQ(job.hyperparameters["distill_weight"], "auto");
  EXPECT_EQ(job.hyperparameters["forgetting_gate"], true);
  TrainConfig c = job_train_config(job, {"/m", "/t.jsonl", "", "/out"});
  EXPECT_FALSE(c.replay_data.has_value());
  EXPECT_EQ(c.distill_weight, kAuto);
  EXPECT_DOUBLE_EQ(c.max_perplexity_rise, TrainConfig{}.max_perplexity_rise);

  job = parse(R"({"model": "base", "training_file": "file-a", "hyperparameters": {"replay_data": "none",
                  "distill_weight": 0, "ewc_lambda": 1000, "forgetting_gate": false, "max_perplexity_rise": 0.2,
                  "max_accuracy_drop": 0.1, "replay_ratio": 0.5}})");
  c = job_train_config(job, {"/m", "/t.jsonl", "", "/out"});
  EXPECT_EQ(c.replay_data, "");
  EXPECT_DOUBLE_EQ(c.distill_weight, 0.0);
  EXPECT_DOUBLE_EQ(c.ewc_lambda, 1000.0);
  EXPECT_FALSE(c.forgetting_gate);
  EXPECT_DOUBLE_EQ(c.max_perplexity_rise, 0.2);
  EXPECT_DOUBLE_EQ(c.max_accuracy_drop, 0.1);
  EXPECT_DOUBLE_EQ(c.replay_ratio, 0.5);

  // A job stored before these keys existed runs with the defaults.
  job.hyperparameters = {{"n_epochs", 2}, {"batch_size", "auto"}, {"learning_rate", "auto"}, {"max_steps", -1},
                         {"save_steps", 10}, {"sequence_len", 512}};
  c = job_train_config(job, {"/m", "/t.jsonl", "", "/out"});
  EXPECT_FALSE(c.replay_data.has_value());
  EXPECT_TRUE(c.forgetting_gate);

  expect_refused(R"({"model": "base", "training_file": "file-a", "hyperparameters": {"replay_data": "/etc/passwd"}})",
                 "hyperparameters.replay_data");
  expect_refused(R"({"model": "base", "training_file": "file-a", "hyperparameters": {"forgetting_gate": "no"}})",
                 "hyperparameters.forgetting_gate");
  expect_refused(R"({"model": "base", "training_file": "file-a", "hyperparameters": {"max_accuracy_drop": 2}})",
                 "hyperparameters.max_accuracy_drop");
}

TEST(JobRequest, MethodObjectAndFullFineTuning) {
  Job job = parse(R"({"model": "base", "training_file": "file-a", "method": {"type": "supervised",
                      "supervised": {"hyperparameters": {"learning_rate_multiplier": 2, "lora_r": 4}}}})");
  EXPECT_EQ(job.method, "lora");
  EXPECT_EQ(job.hyperparameters["learning_rate"], "auto");
  EXPECT_DOUBLE_EQ(job_learning_rate_scale(job), 2.0);  // scales the automatic rate
  EXPECT_EQ(job.hyperparameters["lora_r"], 4);
  EXPECT_EQ(job_train_config(job, {"/m", "/t.jsonl", "", "/out"}).lora_r, 4);

  job = parse(R"({"model": "base", "training_file": "file-a", "method": "full",
                  "hyperparameters": {"learning_rate": 1e-5, "lora_model_dir": "/etc"}})");
  EXPECT_EQ(job.method, "full");
  EXPECT_FALSE(job.hyperparameters.contains("lora_r"));
  EXPECT_FALSE(job.hyperparameters.contains("lora_model_dir"));  // never a path from the client
  const TrainConfig c = job_train_config(job, {"/m", "/t.jsonl", "", "/out"});
  EXPECT_EQ(c.method, TrainMethod::Full);
  EXPECT_DOUBLE_EQ(c.learning_rate, 1e-5);
  EXPECT_EQ(c.train_data, (std::vector<std::string>{"/t.jsonl"}));
  EXPECT_TRUE(c.val_data.empty());
  EXPECT_TRUE(c.lora_model_dir.empty());
}

// OpenAI's DPO method object: LoRA with the DPO objective, beta as given.
TEST(JobRequest, DpoMethodTrainsAnAdapterWithItsBeta) {
  Job job = parse(R"({"model": "base", "training_file": "file-a",
                      "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2, "n_epochs": 2}}}})");
  EXPECT_EQ(job.method, "dpo");
  EXPECT_EQ(job.hyperparameters["beta"], 0.2);
  EXPECT_EQ(job.hyperparameters["lora_r"], "auto");
  TrainConfig c = job_train_config(job, {"/m", "/pairs.jsonl", "", "/out"});
  EXPECT_EQ(c.method, TrainMethod::Lora);
  EXPECT_EQ(c.rl, "dpo");
  EXPECT_DOUBLE_EQ(c.rl_beta, 0.2);
  EXPECT_EQ(c.num_epochs, 2);

  job = parse(R"({"model": "base", "training_file": "file-a", "method": {"type": "dpo"}})");
  EXPECT_EQ(job.hyperparameters["beta"], "auto");
  EXPECT_DOUBLE_EQ(job_train_config(job, {"/m", "/pairs.jsonl", "", "/out"}).rl_beta, TrainConfig().rl_beta);
  // The supervised method stays supervised.
  EXPECT_EQ(job_train_config(parse(R"({"model": "base", "training_file": "file-a"})"), {"/m", "/t", "", "/o"}).rl,
            "none");
}

TEST(JobRequest, RefusesBadRequestsNamingTheField) {
  expect_refused(R"({"training_file": "file-a"})", "model");
  expect_refused(R"({"model": "other", "training_file": "file-a"})", "model", 404);
  expect_refused(R"({"model": "base"})", "training_file");
  expect_refused(R"({"model": "base", "training_file": "file-zzz"})", "training_file");
  expect_refused(R"({"model": "base", "training_file": "file-a", "validation_file": "nope"})", "validation_file");
  expect_refused(R"({"model": "base", "training_file": "file-a", "suffix": "../x"})", "suffix");
  expect_refused(R"({"model": "base", "training_file": "file-a", "method": {"type": "ppo"}})", "method.type");
  expect_refused(R"({"model": "base", "training_file": "file-a",
                     "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0}}}})",
                 "method.dpo.hyperparameters.beta");
  expect_refused(R"({"model": "base", "training_file": "file-a", "hyperparameters": {"n_epochs": 0}})",
                 "hyperparameters.n_epochs");
  expect_refused(R"({"model": "base", "training_file": "file-a", "hyperparameters": {"n_epochs": 1.5}})",
                 "hyperparameters.n_epochs");
  expect_refused(R"({"model": "base", "training_file": "file-a", "hyperparameters": {"learning_rate": -1}})",
                 "hyperparameters.learning_rate");
  expect_refused(R"({"model": "base", "training_file": "file-a", "hyperparameters": []})", "hyperparameters");
  expect_refused(R"({"model": "base", "training_file": "file-a",
                     "method": {"type": "supervised", "supervised": {"hyperparameters": {"batch_size": "big"}}}})",
                 "method.supervised.hyperparameters.batch_size");
  for (const std::string body : {"", "{", "[]", "{\"model\": 1}"}) expect_refused(body, body == "{\"model\": 1}" ? "model" : "");
}

}  // namespace
}  // namespace whet::serve
