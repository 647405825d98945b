// Preference tasks in `whet eval`: pairs read as training reads them, and
// pairwise accuracy with a reward model's head (each answer whole after its
// prompt, scored as training scored it) or, without one, by the answers'
// summed log-likelihood; on the tiny model, held to scores computed by hand.
#include <gtest/gtest.h>

#include "data/tokenize_preference.h"
#include "eval/evaluate.h"
#include "test_support.h"

namespace whet {
namespace {

constexpr std::string_view kPairs =
    R"({"prompt": [{"role": "user", "content": "the sea 1"}], "chosen": [{"role": "assistant", "content": "the tin 1"}], "rejected": [{"role": "assistant", "content": "the oak 1 is here"}]}
{"input": {"messages": [{"role": "user", "content": "the sea 2"}]}, "preferred_output": [{"role": "assistant", "content": "the oak"}], "non_preferred_output": [{"role": "assistant", "content": "the tin 2"}]}
{"prompt": "the sea 3", "chosen": " tin", "rejected": " oak oak"}
)";

TEST(PairwiseTask, PairsAreReadAsTrainingReadsThem) {
  const Task task = parse_task("pairs.jsonl", kPairs);
  EXPECT_EQ(task.kind, TaskKind::Preference);
  EXPECT_EQ(task_kind_name(task.kind), "preference");
  ASSERT_EQ(task.items.size(), 3u);
  EXPECT_EQ(task.items[1].messages.at(0).content, "the sea 2");
  EXPECT_EQ(task.items[1].choices, (std::vector<std::string>{"the oak", "the tin 2"}));
  EXPECT_EQ(task.items[2].prompt, "the sea 3");
  EXPECT_EQ(task.items[2].line, 3u);
  EXPECT_EQ(reference_answer(task.items[2], task.kind), " tin");
  test::expect_error([] { parse_task("bad.jsonl", R"({"prompt": "p", "chosen": "same", "rejected": "same"})"); },
                     {"bad.jsonl:1", "rejected: the same answer as chosen"});
  test::expect_error([] { parse_task("mixed.jsonl", R"({"prompt": "p", "chosen": "a", "rejected": "b"}
{"text": "x"})"); },
                     {"mixed.jsonl:2", "a perplexity line in a preference task"});
}

const LoadedModel& tiny_model() {
  static const LoadedModel model = load_model(test::testdata_path("tiny/gqa_tied/hf"), WeightFormat::F32);
  return model;
}

TEST(PairwiseTask, RewardHeadDecidesEachPairAsItsScoresSay) {
  const LoadedModel& m = tiny_model();
  const Task task = parse_task("pairs.jsonl", kPairs);
  SequenceClassifier head = make_sequence_classifier({kRewardLabel}, Pooling::Last, m.model.config.hidden_size, 3);
  for (float& w : head.weight) w *= 25;  // scores that differ visibly between answers
  EvalOptions options;
  options.classifier = &head;
  options.resamples = 200;
  const TaskResult result = evaluate_task(m, "rm", task, options);
  ASSERT_EQ(result.metrics.size(), 1u);
  EXPECT_EQ(result.metrics[0].name, "pairwise_accuracy");
  double right = 0;
  LlamaActivations acts(m.model.config, 64, 0);
  for (size_t i = 0; i < task.items.size(); ++i) {
    PreferenceExample pair;
    pair.prompt = {task.items[i].messages, task.items[i].prompt};
    pair.chosen = task.items[i].choices[0];
    pair.rejected = task.items[i].choices[1];
    const RewardPair tokens = reward_pair(tokenize_pair(pair, m.tokenizer, *m.chat_template));
    const bool chosen_higher = reward_score(m.model, nullptr, acts, tokens.chosen, head) >
                               reward_score(m.model, nullptr, acts, tokens.rejected, head);
    EXPECT_EQ(result.predictions[i], chosen_higher ? "chosen" : "rejected") << i;
    right += chosen_higher;
  }
  EXPECT_DOUBLE_EQ(result.metrics[0].value, right / 3);
  EXPECT_LE(result.metrics[0].interval.low, result.metrics[0].value);
  EXPECT_GE(result.metrics[0].interval.high, result.metrics[0].value);
}

TEST(PairwiseTask, WithoutAHeadTheLikelierAnswerIsPreferred) {
  const LoadedModel& m = tiny_model();
  const Task task = parse_task("pairs.jsonl", kPairs);
  const TaskResult result = evaluate_task(m, "base", task, EvalOptions{});
  const std::vector<std::vector<double>> loglik =
      choice_loglikelihoods(m, task.items, TaskKind::MultipleChoice, {});
  double right = 0;
  for (size_t i = 0; i < loglik.size(); ++i) right += loglik[i][0] > loglik[i][1];
  EXPECT_DOUBLE_EQ(result.metrics.at(0).value, right / 3);
}

TEST(PairwiseTask, HeadsAreRefusedWhereTheyDoNotFit) {
  const LoadedModel& m = tiny_model();
  const SequenceClassifier classifier = make_sequence_classifier({"a", "b"}, Pooling::Last, m.model.config.hidden_size, 1);
  const SequenceClassifier reward = make_sequence_classifier({kRewardLabel}, Pooling::Last, m.model.config.hidden_size, 1);
  EvalOptions options;
  options.classifier = &classifier;
  test::expect_error([&] { evaluate_task(m, "c", parse_task("pairs.jsonl", kPairs), options); },
                     {"preference pairs need a reward model"});
  options.classifier = &reward;
  test::expect_error([&] { evaluate_task(m, "r", parse_task("labels.jsonl", R"({"prompt": "p", "label": "a"}
{"prompt": "q", "label": "b"})"), options); },
                     {"a reward model's head gives a score, not a label"});
}

}  // namespace
}  // namespace whet
