// Issue 16's DPO acceptance on the real default model: examples/house-style,
// whose preferred answers are one sentence and the sign-off "— Harbor Desk"
// and whose rejected answers are the base model's own. `whet train --data
// train.jsonl --val val.jsonl --method dpo --output DIR` with nothing else
// given (weights auto only for speed: bf16 with AMX, f32 elsewhere; the rules
// choose one pass, lr 1e-3 and RPO) must prefer the held-out chosen answers
// (pair accuracy >= 90%), answer at least 80% of unseen prompts in the style,
// and pass the forgetting gate with general-text perplexity at most 5% higher.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "data/preference_dataset.h"
#include "generate/greedy_answers.h"
#include "models/lora_peft.h"
#include "test_support.h"
#include "train/preference_step.h"
#include "train/trainer.h"

namespace whet {
namespace {

constexpr std::string_view kSignOff = "— Harbor Desk";

std::string trimmed(std::string_view s) {
  const size_t begin = s.find_first_not_of(" \t\r\n"), end = s.find_last_not_of(" \t\r\n");
  return begin == std::string_view::npos ? "" : std::string(s.substr(begin, end - begin + 1));
}

// examples/house-style/README.md's rule, as make_house_style.py implements it:
// one sentence (one . ! or ? at its end, none inside but decimals and the listed
// abbreviations), a newline, and the sign-off.
bool follows_house_style(std::string_view answer) {
  const std::string text = trimmed(answer);
  const std::string ending = "\n" + std::string(kSignOff);
  if (!text.ends_with(ending)) return false;
  const std::string body = trimmed(std::string_view(text).substr(0, text.size() - ending.size()));
  if (body.empty() || body.find('\n') != std::string::npos || std::string(".!?").find(body.back()) == std::string::npos)
    return false;
  std::string inner = std::regex_replace(body.substr(0, body.size() - 1), std::regex(R"((\d)\.(\d))"), "$1$2");
  for (const char* abbreviation : {"e.g.", "i.e.", "etc.", "vs.", "Mr.", "Mrs.", "Ms.", "Dr.", "St.", "approx."})
    for (size_t at; (at = inner.find(abbreviation)) != std::string::npos;) inner.erase(at, std::strlen(abbreviation));
  return inner.find_first_of(".!?") == std::string::npos;
}

TEST(HouseStyle, RuleAgreesWithTheExamplesReadme) {
  const std::string s(kSignOff);
  for (const std::string& good : {"It costs 2.50 euros.\n" + s, "Ask Dr. Lee first!\n" + s, "  Yes, it is.  \n" + s + "\n"})
    EXPECT_TRUE(follows_house_style(good)) << good;
  for (const std::string& bad : {std::string("It is."), "It is.\n" + s + "\nMore.", "It is. Really.\n" + s,
                                "It is\n" + s, "\n" + s, "One.\nTwo.\n" + s, std::string("It is.\n- Harbor Desk"),
                                "Why? Because.\n" + s})
    EXPECT_FALSE(follows_house_style(bad)) << bad;
}

TEST(RealModelAlignment, DpoWithDefaultsLearnsTheHouseStyle) {
  WHET_REQUIRE_DEFAULT_MODEL();
  const std::string data = test::source_path("examples/house-style");
  const std::string dir = test::scratch_dir("real_dpo_house_style") + "/run";
  const TrainConfig config = train_config_from_overrides(
      {"base_model=" + test::default_model_path(), "train_data=" + data + "/train.jsonl",
       "val_data=" + data + "/val.jsonl", "method=dpo", "output_dir=" + dir, "weights=auto"});
  const TrainRunResult run = run_training(config, {});
  ASSERT_FALSE(run.output.empty());
  ASSERT_TRUE(run.gate.has_value());
  for (const GateCheck& check : run.gate->general)
    std::printf("[ measured ] gate %s %s: %.4f -> %.4f (p worse %.3f)\n", check.task.c_str(), check.metric.c_str(),
                check.base, check.tuned, check.p_worse);
  EXPECT_TRUE(run.gate->passed);
  EXPECT_LE(run.gate->general.at(0).change, 0.05);  // general-text perplexity

  LoadedModel model = load_model(test::default_model_path(), fastest_weight_format());
  const LlamaLora adapter = load_peft_adapter(run.output, model.model.config);
  // Held-out pairs: the tuned model's implicit reward prefers the chosen answer.
  DataOptions options;
  options.sequence_len = config.sequence_len;
  const PreferenceDataset test_pairs = load_preference_dataset(
      {data + "/test.jsonl"}, {}, model.tokenizer, *model.chat_template, options);
  std::vector<PreferenceSequences> pairs;
  for (const TokenizedPair& p : test_pairs.train) pairs.push_back({p.chosen_sequence(), p.rejected_sequence()});
  ASSERT_EQ(pairs.size(), 50u);
  LlamaActivations acts(model.model.config, config.sequence_len, adapter.config.rank);
  const std::vector<ReferencedPair> referenced = reference_logps(model.model, acts, pairs);
  TrainableState tuned;
  tuned.lora = std::make_unique<LlamaLora>(adapter);
  const TrainConfig resolved = load_train_config(dir + "/config.yaml", {});  // what the run decided
  const PreferenceMetrics held_out = preference_eval(model, tuned, acts, referenced, preference_objective(resolved));
  std::printf("[ measured ] held-out pairs: accuracy %.3f, margin %.2f\n", held_out.accuracy, held_out.margin);
  EXPECT_GE(held_out.accuracy, 0.9);

  // Unseen prompts, answered greedily with the adapter (all in one batch): most follow the style.
  model.adapter = std::make_shared<LlamaLora>(adapter);
  std::vector<std::string> questions;
  std::ifstream prompts(data + "/prompts.jsonl");
  for (std::string line; std::getline(prompts, line);)
    questions.push_back(nlohmann::json::parse(line).at("messages").at(0).at("content"));
  ASSERT_EQ(questions.size(), 30u);
  const std::vector<std::string> replies = test::greedy_answers(model, questions, 96);
  int styled = 0;
  const int asked = int(questions.size());
  for (size_t i = 0; i < questions.size(); ++i) {
    const bool ok = follows_house_style(replies[i]);
    styled += ok;
    std::printf("[ measured ] %s %s -> %s\n", ok ? "styled  " : "unstyled", questions[i].c_str(), replies[i].c_str());
  }
  std::printf("[ measured ] %d of %d unseen prompts answered in the house style\n", styled, asked);
  EXPECT_GE(styled, 24);  // 80%
}

}  // namespace
}  // namespace whet
