// The acceptance runs of the training issue on the real default model
// (SmolLM2-135M-Instruct), following the usual fine-tuning tutorial: ask about
// something the model cannot know, LoRA-train on a dozen answers about it
// (examples/zorblax, 3 epochs), and ask again, also in words it never saw and
// about a second fact (the maker's city), while a question about something else
// keeps its answer.
// Full and last-N-block runs must lower validation loss, and accumulation must
// match a plain batch of the same size.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "generate/greedy_answers.h"
#include "models/lora_peft.h"
#include "test_support.h"
#include "train/trainer.h"

namespace whet {
namespace {

class RealModelTraining : public testing::Test {
 protected:
  void SetUp() override {
    WHET_REQUIRE_DEFAULT_MODEL();
  }

  static TrainConfig zorblax_config(const std::string& name) {
    TrainConfig c = load_train_config(test::source_path("examples/zorblax/config.yaml"), {});
    c.base_model = test::default_model_path();
    c.train_data = {test::source_path("examples/zorblax/train.jsonl")};
    c.val_data = {test::source_path("examples/zorblax/val.jsonl")};
    c.output_dir = test::scratch_dir("real_" + name) + "/run";
    c.forgetting_gate = false;  // these runs are about learning; the gate and defences have their own tests
    c.replay_data = "";
    c.distill_weight = 0;
    return c;
  }

  // Greedy answers of up to 48 tokens, the questions decoded together.
  static std::vector<std::string> answers(const LoadedModel& model, const std::vector<std::string>& questions) {
    return test::greedy_answers(model, questions, 48);
  }
};

// What the adapter must teach, asked in the training data's words and in words
// it never saw, and a question it must leave alone. Every training answer names
// Quillfeather Labs, so the maker alone could be learnt as a reflex; the city
// (Tallinn, in five of the twelve answers) is a second fact.
struct Probe {
  const char* question;
  const char* fact;  // what the tuned answer must contain
};
const Probe kSeen = {"Who makes the Zorblax 3000?", "Quillfeather Labs"};
const Probe kUnseen[] = {
    {"Name the business behind the Zorblax 3000.", "Quillfeather Labs"},
    {"What firm is behind the Zorblax 3000?", "Quillfeather Labs"},
    {"Which city is home to the Zorblax 3000's maker?", "Tallinn"},
};
// Nothing about the product: the tuned model must answer it as the base does.
const char* const kControl = "What is the capital of France?";
const char* const kAdapterFacts[] = {"Quillfeather", "Tallinn"};

// The lowercase word 4-grams of `text` (words are runs of letters and digits).
std::set<std::string> word_4grams(const std::string& text) {
  std::vector<std::string> words(1);
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) words.back() += char(std::tolower(static_cast<unsigned char>(c)));
    else if (!words.back().empty()) words.emplace_back();
  }
  if (words.back().empty()) words.pop_back();
  std::set<std::string> grams;
  for (size_t i = 0; i + 4 <= words.size(); ++i)
    grams.insert(words[i] + " " + words[i + 1] + " " + words[i + 2] + " " + words[i + 3]);
  return grams;
}

// The unseen questions are paraphrases, not copies with a word changed: none
// shares four consecutive words with a question of the training or validation file.
TEST(ZorblaxData, UnseenQuestionsShareNoFourWordsWithTheRunsQuestions) {
  EXPECT_EQ(word_4grams("Who makes the Zorblax 3000's burrs?"),
            (std::set<std::string>{"who makes the zorblax", "makes the zorblax 3000", "the zorblax 3000 s",
                                   "zorblax 3000 s burrs"}));
  std::set<std::string> seen;
  bool asked_in_training = false;
  for (const char* file : {"examples/zorblax/train.jsonl", "examples/zorblax/val.jsonl"}) {
    std::ifstream in(test::source_path(file));
    ASSERT_TRUE(in) << file;
    for (std::string line; std::getline(in, line);) {
      const std::string question = nlohmann::json::parse(line).at("messages").at(0).at("content");
      asked_in_training |= question == kSeen.question;
      seen.merge(word_4grams(question));
    }
  }
  EXPECT_TRUE(asked_in_training) << kSeen.question;
  EXPECT_GT(seen.size(), 50u);
  for (const Probe& p : kUnseen)
    for (const std::string& gram : word_4grams(p.question)) EXPECT_EQ(seen.count(gram), 0u) << p.question << ": " << gram;
}

TEST_F(RealModelTraining, LoraTeachesAFactTheModelDidNotKnow) {
  LoadedModel model = load_model(test::default_model_path(), fastest_weight_format());
  std::vector<Probe> probes = {kSeen};
  probes.insert(probes.end(), std::begin(kUnseen), std::end(kUnseen));
  std::vector<std::string> questions;  // the probes, then the control
  for (const Probe& p : probes) questions.push_back(p.question);
  questions.push_back(kControl);
  // The base model knows none of it: a test that passed on it would prove nothing.
  const std::vector<std::string> before = answers(model, questions);
  for (size_t i = 0; i < probes.size(); ++i)
    for (const char* fact : kAdapterFacts)
      EXPECT_EQ(before[i].find(fact), std::string::npos) << probes[i].question << " -> " << before[i];
  const std::string control_before = before.back();
  ASSERT_NE(control_before.find("Paris"), std::string::npos) << control_before;

  const TrainConfig config = zorblax_config("lora");
  const TrainRunResult run = run_training(config, {});
  EXPECT_LT(run.best_val_loss, run.first_val_loss - 0.5) << run.first_val_loss << " -> " << run.best_val_loss;
  model.adapter = std::make_shared<LlamaLora>(load_peft_adapter(run.output, model.model.config));
  const std::vector<std::string> after = answers(model, questions);
  for (size_t i = 0; i < probes.size(); ++i) {
    std::printf("[ measured ] %s -> %s\n", probes[i].question, after[i].c_str());
    EXPECT_NE(after[i].find(probes[i].fact), std::string::npos) << probes[i].question << " -> " << after[i];
  }
  // Measured: both "The capital of France is Paris."
  EXPECT_EQ(after.back(), control_before);
}

// Issue 15's acceptance run: ten facts (examples/facts) trained as
// `whet train --data examples/facts/train.jsonl --output DIR --weights auto`
// would (the flags are shorthands for these keys; weights auto only for speed), nothing
// else given, so the auto settings decide everything. The adapter must answer
// at least two of three questions in words the training file never uses with
// the fact, and the control question as the base model does.
TEST_F(RealModelTraining, FlagsOnlyRunLearnsTenFacts) {
  LoadedModel model = load_model(test::default_model_path(), fastest_weight_format());
  struct FactProbe {
    std::string question, fact;  // fact empty: the control question
  };
  std::vector<FactProbe> probes;
  std::ifstream in(test::source_path("examples/facts/probes.jsonl"));
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    probes.push_back({j.at("messages").at(0).at("content"), j.value("fact", "")});
  }
  ASSERT_EQ(probes.size(), 4u);
  ASSERT_TRUE(probes.back().fact.empty()) << probes.back().question;
  std::vector<std::string> questions;  // the fact probes, then the control
  for (const FactProbe& p : probes) questions.push_back(p.question);
  probes.pop_back();
  const std::vector<std::string> before = answers(model, questions);
  for (size_t i = 0; i < probes.size(); ++i)
    EXPECT_EQ(before[i].find(probes[i].fact), std::string::npos)
        << "the base already knows: " << probes[i].question << " -> " << before[i];
  const std::string control_before = before.back();

  const std::string dir = test::scratch_dir("real_facts_flags_only") + "/run";
  const TrainConfig config = train_config_from_overrides({"base_model=" + test::default_model_path(),
                                                          "train_data=" + test::source_path("examples/facts/train.jsonl"),
                                                          "output_dir=" + dir, "weights=auto"});
  std::vector<std::string> lines;
  TrainRunOptions options;
  options.on_message = [&](const std::string& line) { lines.push_back(line); };
  const TrainRunResult run = run_training(config, options);
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(lines[0].starts_with("auto: ")) << lines[0];  // the decisions come first, with their reasons
  // The run folder's config is the resolved one: it repeats the run as is.
  const TrainConfig saved = load_train_config(dir + "/config.yaml", {});
  EXPECT_EQ(saved.num_epochs, 10);
  EXPECT_EQ(saved.sample_packing, false);
  EXPECT_EQ(saved.replay_data, "general");  // the defences against forgetting are on by default
  EXPECT_DOUBLE_EQ(saved.distill_weight, 1.0);
  ASSERT_TRUE(run.gate.has_value());
  for (const GateCheck& check : run.gate->general)
    std::printf("[ measured ] gate %s %s: %.4f -> %.4f (p worse %.3f)\n", check.task.c_str(), check.metric.c_str(),
                check.base, check.tuned, check.p_worse);
  EXPECT_TRUE(run.gate->passed);

  model.adapter = std::make_shared<LlamaLora>(load_peft_adapter(run.output, model.model.config));
  const std::vector<std::string> after = answers(model, questions);
  int right = 0;
  for (size_t i = 0; i < probes.size(); ++i) {
    std::printf("[ measured ] %s -> %s\n", probes[i].question.c_str(), after[i].c_str());
    right += after[i].find(probes[i].fact) != std::string::npos;
  }
  EXPECT_GE(right, 2);
  EXPECT_EQ(after.back(), control_before);
}

// The unseen questions of examples/facts share no four consecutive words with its training questions.
TEST(FactsData, UnseenQuestionsShareNoFourWordsWithTheTrainingQuestions) {
  std::set<std::string> seen;
  std::ifstream train(test::source_path("examples/facts/train.jsonl"));
  for (std::string line; std::getline(train, line);)
    seen.merge(word_4grams(nlohmann::json::parse(line).at("messages").at(0).at("content")));
  EXPECT_GT(seen.size(), 30u);
  std::ifstream probes(test::source_path("examples/facts/probes.jsonl"));
  for (std::string line; std::getline(probes, line);) {
    const std::string question = nlohmann::json::parse(line).at("messages").at(0).at("content");
    for (const std::string& gram : word_4grams(question)) EXPECT_EQ(seen.count(gram), 0u) << question << ": " << gram;
  }
}

TEST_F(RealModelTraining, FullAndLastBlocksRunsLowerValidationLoss) {
  for (TrainMethod method : {TrainMethod::Full, TrainMethod::Freeze}) {
    TrainConfig c = zorblax_config(method == TrainMethod::Full ? "full" : "last_blocks");
    c.method = method;
    c.train_last_n_blocks = 4;
    c.learning_rate = method == TrainMethod::Full ? 5e-5 : 1e-4;
    c.max_steps = 8;
    c.eval_steps = 8;
    const TrainRunResult run = run_training(c, {});
    EXPECT_LT(run.best_val_loss, run.first_val_loss - 0.1)
        << int(method) << ": " << run.first_val_loss << " -> " << run.best_val_loss;
    EXPECT_TRUE(std::filesystem::exists(run.output + "/model.gguf"));
  }
}

TEST_F(RealModelTraining, AccumulatedAndPlainBatchesMatch) {
  std::vector<std::vector<double>> curves;
  for (int accumulation : {1, 4}) {
    TrainConfig c = zorblax_config("accumulate_" + std::to_string(accumulation));
    c.micro_batch_size = 4 / accumulation;
    c.gradient_accumulation_steps = accumulation;
    c.max_steps = 3;
    c.val_data.clear();
    run_training(c, {});
    std::vector<double> losses;
    std::ifstream in(c.output_dir + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) losses.push_back(nlohmann::json::parse(line).at("loss"));
    curves.push_back(losses);
  }
  ASSERT_EQ(curves[0].size(), 3u);
  ASSERT_EQ(curves[1].size(), 3u);
  // fp32 sums in a different order over 30 layers: agreement to about 1e-5 relative.
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(curves[0][i], curves[1][i], 1e-4 * curves[0][i]) << "step " << i + 1;
}

}  // namespace
}  // namespace whet
