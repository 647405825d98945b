// score_model: a sequence-classification head on the base scores the prompt and
// completion tokens; the probability of a label agrees with the training path's
// prediction (llama_classify). (A one-output reward head gives its raw score;
// heads load with two labels or more until reward-model training lands.)
#include <gtest/gtest.h>

#include "eval/grader.h"
#include "models/model_loader.h"
#include "models/sequence_classifier.h"
#include "test_support.h"

namespace whet {
namespace {

TEST(ScoreModelGrader, ScoresWithTheHeadOnTheBase) {
  const LoadedModel model = load_model(test::testdata_path("tiny/gqa_tied/hf"));
  const std::string dir = test::scratch_dir("score_model_grader");
  const int64_t hidden = model.model.config.hidden_size;
  const std::vector<int32_t> prompt = {1, 5, 9}, output = {4, 2};
  const std::vector<int32_t> all = {1, 5, 9, 4, 2};
  const nlohmann::json item = nlohmann::json::object();

  save_sequence_classifier(make_sequence_classifier({"bad", "good"}, Pooling::Last, hidden, 7), dir + "/two");
  const SequenceClassifier two = load_sequence_classifier(dir + "/two", hidden);
  LlamaActivations acts(model.model.config, 8, 0);
  const ClassifierHeadResult want = llama_classify(model.model, TrainPass{}, acts, all, two.pass(), 0.0f);
  const auto good = make_grader({{"type", "score_model"}, {"model", "two"}, {"label", "good"}}, "test", {&model, dir});
  EXPECT_NEAR(good->grade({"", item, prompt, output}).score, want.probabilities[1], 1e-6);

  const std::vector<int32_t> other = {4, 3};
  EXPECT_NE(good->grade({"", item, prompt, other}).score, want.probabilities[1]);  // the completion's tokens are read

  test::expect_error([&] { make_grader({{"type", "score_model"}, {"model", "two"}}, "test", {&model, dir}); },
                     {"grader.label: required"});
}

}  // namespace
}  // namespace whet
