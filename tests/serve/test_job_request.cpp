// Fine-tuning job requests in both of OpenAI's shapes, normalised into the
// hyperparameters that run, and the training config they become.
#include <gtest/gtest.h>

#include <fstream>

#include "serve/api_error.h"
#include "serve/job_request.h"
#include "test_support.h"
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

  // Never a path from the client: a key no job reads is refused, not ignored.
  expect_refused(R"({"model": "base", "training_file": "file-a", "method": "full",
                     "hyperparameters": {"learning_rate": 1e-5, "lora_model_dir": "/etc"}})",
                 "hyperparameters.lora_model_dir");
  job = parse(R"({"model": "base", "training_file": "file-a", "method": "full",
                  "hyperparameters": {"learning_rate": 1e-5}})");
  EXPECT_EQ(job.method, "full");
  EXPECT_FALSE(job.hyperparameters.contains("lora_r"));
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

// Every rl method of `whet train` as a job: its own hyperparameters under their
// config names, none of the supervised defences (the reference holds rl runs).
TEST(JobRequest, EveryRlMethodTakesItsOwnHyperparameters) {
  Job job = parse(R"({"model": "base", "training_file": "file-a",
                      "method": {"type": "simpo", "simpo": {"hyperparameters": {"beta": 2.5, "simpo_gamma": 1.2}}}})");
  TrainConfig c = job_train_config(job, {"/m", "/p.jsonl", "", "/out"});
  EXPECT_EQ(c.rl, "simpo");
  EXPECT_DOUBLE_EQ(c.rl_beta, 2.5);
  EXPECT_DOUBLE_EQ(c.simpo_gamma, 1.2);
  EXPECT_FALSE(job.hyperparameters.contains("replay_data"));
  EXPECT_FALSE(job.hyperparameters.contains("distill_weight"));

  job = parse(R"({"model": "base", "training_file": "file-a", "method": {"type": "orpo", "orpo": {"hyperparameters": {"orpo_alpha": 0.5}}}})");
  c = job_train_config(job, {"/m", "/p.jsonl", "", "/out"});
  EXPECT_EQ(c.rl, "orpo");
  EXPECT_DOUBLE_EQ(c.orpo_alpha, 0.5);
  EXPECT_FALSE(job.hyperparameters.contains("beta"));  // ORPO has no reference model

  job = parse(R"({"model": "base", "training_file": "file-a",
                  "method": {"type": "kto", "kto": {"hyperparameters": {"kto_undesirable_weight": 1.5}}}})");
  c = job_train_config(job, {"/m", "/p.jsonl", "", "/out"});
  EXPECT_EQ(c.rl, "kto");
  EXPECT_DOUBLE_EQ(c.kto_undesirable_weight, 1.5);
  EXPECT_DOUBLE_EQ(c.kto_desirable_weight, TrainConfig().kto_desirable_weight);

  job = parse(R"({"model": "base", "training_file": "file-a", "method": "reward"})");
  c = job_train_config(job, {"/m", "/p.jsonl", "", "/out"});
  EXPECT_EQ(c.rl, "reward");
  EXPECT_EQ(c.method, TrainMethod::Lora);
  EXPECT_TRUE(trains_adapter(job.method));

  expect_refused(R"({"model": "base", "training_file": "file-a",
                     "method": {"type": "dpo", "dpo": {"hyperparameters": {"simpo_gamma": 1}}}})",
                 "method.dpo.hyperparameters.simpo_gamma");
  expect_refused(R"({"model": "base", "training_file": "file-a",
                     "method": {"type": "kto", "kto": {"hyperparameters": {"replay_data": "general"}}}})",
                 "method.kto.hyperparameters.replay_data");
  expect_refused(R"({"model": "base", "training_file": "file-a",
                     "method": {"type": "simpo", "simpo": {"hyperparameters": {"simpo_gamma": -1}}}})",
                 "method.simpo.hyperparameters.simpo_gamma");
}

// OpenAI's reinforcement method is GRPO; its grader is checked when the job is
// made, as a client's: nothing that runs a program or reads the server's folders.
TEST(JobRequest, ReinforcementIsGrpoWithTheClientsGrader) {
  const std::string grader = R"({"type": "string_check", "name": "exact", "input": "{{sample.output_text}}",
                                 "reference": "{{item.answer}}", "operation": "eq"})";
  Job job = parse(R"({"model": "base", "training_file": "file-a", "method": {"type": "reinforcement",
                      "reinforcement": {"grader": )" + grader + R"(, "hyperparameters": {"num_generations": 4,
                      "max_completion_length": 24, "reward_target": 0.9}}}})");
  EXPECT_EQ(job.method, "grpo");
  EXPECT_EQ(job.grader, nlohmann::json::parse(grader));
  EXPECT_EQ(job.hyperparameters["beta"], "auto");
  const TrainConfig c = job_train_config(job, {"/m", "/prompts.jsonl", "", "/out"});
  EXPECT_EQ(c.rl, "grpo");
  EXPECT_EQ(c.grader, job.grader);
  EXPECT_EQ(c.num_generations, 4);
  EXPECT_EQ(c.max_completion_length, 24);
  EXPECT_DOUBLE_EQ(c.reward_target, 0.9);

  auto with_grader = [](const std::string& g) {
    return R"({"model": "base", "training_file": "file-a", "method": {"type": "reinforcement", "reinforcement": {"grader": )" +
           g + "}}}";
  };
  expect_refused(R"({"model": "base", "training_file": "file-a", "method": {"type": "reinforcement"}})",
                 "method.reinforcement.grader");
  expect_refused(with_grader(R"({"type": "command", "command": ["rm", "-rf", "/"]})"), "method.reinforcement.grader");
  expect_refused(with_grader(R"({"type": "score_model", "model": "../../etc"})"), "method.reinforcement.grader");
  // Inside multi too: the check is the grader's own, wherever it sits.
  expect_refused(with_grader(R"({"type": "multi", "calculate_output": "a", "graders": {"a": {"type": "command",
                                  "command": ["true"]}}})"), "method.reinforcement.grader");
  expect_refused(with_grader(R"({"type": "string_check", "operation": "eq"})"), "method.reinforcement.grader");
  expect_refused(R"({"model": "base", "training_file": "file-a", "validation_file": "file-b",
                     "method": {"type": "reinforcement", "reinforcement": {"grader": )" + grader + "}}}",
                 "validation_file");
}

// The file is checked against the method when the job is made, not an hour into it.
TEST(JobRequest, TheTrainingFileMustBeWhatTheMethodTrainsOn) {
  const std::string dir = test::scratch_dir("job_request_files");
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  const std::string chat = write("chat.jsonl", R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})" "\n");
  const std::string pairs = write("pairs.jsonl", R"({"prompt": "p", "chosen": "a", "rejected": "b"})" "\n");
  const std::string kto = write("kto.jsonl", R"({"prompt": "p", "completion": "a", "label": true})" "\n");
  const std::string prompts = write("prompts.jsonl", R"({"messages": [{"role": "user", "content": "2+2?"}], "answer": "4"})" "\n");
  auto refused = [&dir](const std::string& path, const std::string& method, std::vector<std::string> words) {
    try {
      check_training_file(path, "upload.jsonl", method, "training_file");
      ADD_FAILURE() << method << " accepted " << path;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.param, "training_file");
      for (const std::string& w : words) EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find(dir), std::string::npos) << "names the server's path: " << e.what();
    }
  };
  check_training_file(chat, "c", "lora", "training_file");
  check_training_file(pairs, "p", "dpo", "training_file");
  check_training_file(pairs, "p", "reward", "training_file");
  check_training_file(kto, "k", "kto", "training_file");
  check_training_file(pairs, "p", "kto", "training_file");
  check_training_file(prompts, "q", "grpo", "training_file");
  refused(chat, "dpo", {"upload.jsonl", "1 chat line(s)", "a dpo job trains on preference pairs"});
  refused(pairs, "lora", {"1 preference line(s)", "supervised examples"});
  refused(kto, "orpo", {"1 kto line(s)"});
  refused(chat, "grpo", {"do not read as such", "upload.jsonl:1", "prompts"});
  refused(prompts, "lora", {"upload.jsonl:1", "no assistant message"});
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
