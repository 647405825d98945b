// POST /v1/score over HTTP on a tiny model with a reward head (and the LoRA
// adapter beside it): each score equals what the head computes on the tokens
// training would give the same answer, and bad requests are refused naming the field.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/tokenize_preference.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "models/sequence_classifier.h"
#include "serve/reward_models.h"
#include "server_fixture.h"

namespace whet {
namespace {

using nlohmann::json;

// A reward model's folder as `whet train --method reward` writes it: a head beside an adapter.
std::string reward_model_dir(const LoadedModel& model) {
  const std::string dir = test::scratch_dir("serve_score_rm");
  std::filesystem::copy(test::testdata_path("tiny/gqa_tied/gradients/lora"), dir,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  // A larger spread than HF's initialisation, so that different answers get visibly different scores.
  SequenceClassifier head = make_sequence_classifier({kRewardLabel}, Pooling::Last, model.model.config.hidden_size, 7);
  for (float& w : head.weight) w *= 25;
  save_sequence_classifier(head, dir);
  return dir;
}

double expected_score(const LoadedModel& model, const LlamaLora& lora, const SequenceClassifier& head,
                      const UnpairedExample& example) {
  const TokenizedUnpaired t = tokenize_unpaired(example, model.tokenizer, *model.chat_template);
  std::vector<int32_t> ids = t.prompt;
  ids.insert(ids.end(), t.completion.begin(), t.completion.end());
  LlamaActivations acts(model.model.config, int64_t(ids.size()), lora.config.rank);
  return reward_score(model.model, &lora, acts, ids, head);
}

TEST(ServerScore, ScoresEqualTheHeadOnTrainingsTokens) {
  const LoadedModel model = load_model(test::tiny_model_path());
  const std::string dir = reward_model_dir(model);
  const LlamaLora lora = load_peft_adapter(dir, model.model.config);
  const SequenceClassifier head = load_sequence_classifier(dir, model.model.config.hidden_size);
  serve::ServerOptions options = test::tiny_server_options(test::scratch_dir("serve_score"));
  options.reward_models = {"rm=" + dir};
  const test::RunningServer server(options);
  auto client = server.client();

  const json body = {{"model", "rm"},
                     {"input",
                      {{{"messages", {{{"role", "user"}, {"content", "the sea 3"}}, {{"role", "assistant"}, {"content", "the tin 3"}}}}},
                       {{"prompt", {{{"role", "user"}, {"content", "the sea 3"}}}}, {"completion", "the oak 3 is here"}},
                       {{"prompt", "the sea 3"}, {"completion", " the tin"}}}}};
  const json r = test::body_json(client.Post("/v1/score", body.dump(), "application/json"));
  ASSERT_EQ(r["object"], "list") << r.dump();
  EXPECT_EQ(r["model"], "rm");
  ASSERT_EQ(r["data"].size(), 3u);
  std::vector<UnpairedExample> expected(3);
  expected[0].prompt.messages = {{"user", "the sea 3"}};
  expected[0].completion = "the tin 3";
  expected[1].prompt.messages = {{"user", "the sea 3"}};
  expected[1].completion = "the oak 3 is here";
  expected[2].prompt.text = "the sea 3";
  expected[2].completion = " the tin";
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(r["data"][i]["index"], i);
    EXPECT_EQ(r["data"][i]["object"], "score");
    EXPECT_NEAR(r["data"][i]["score"].get<double>(), expected_score(model, lora, head, expected[i]), 1e-4) << i;
  }
  EXPECT_NE(r["data"][0]["score"], r["data"][1]["score"]);
  EXPECT_GT(r["usage"]["prompt_tokens"].get<int64_t>(), 10);
}

TEST(ServerScore, BadRequestsNameTheField) {
  const LoadedModel model = load_model(test::tiny_model_path());
  serve::ServerOptions options = test::tiny_server_options(test::scratch_dir("serve_score_errors"));
  options.reward_models = {"rm=" + reward_model_dir(model)};
  const test::RunningServer server(options);
  auto client = server.client();
  auto expect_error = [&](const json& body, int status, const std::string& param_or_code) {
    const auto r = client.Post("/v1/score", body.dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    const json e = json::parse(r->body)["error"];
    EXPECT_TRUE(e["param"] == param_or_code || e["code"] == param_or_code) << r->body;
  };
  expect_error({{"model", "tiny"}, {"input", "x"}}, 404, "model_not_found");  // a base model is not a reward model
  expect_error({{"model", "rm"}}, 400, "input");
  expect_error({{"model", "rm"}, {"input", json::array({"a", {{"messages", {{{"role", "user"}, {"content", "q"}}}}}})}},
               400, "input[1].messages[0].role");
  expect_error({{"model", "rm"}, {"input", std::string(5000, 'x')}}, 400, "context_length_exceeded");
}

TEST(ServerScore, AClassifierIsNotAcceptedAsARewardModel) {
  const LoadedModel model = load_model(test::tiny_model_path());
  const std::string dir = test::scratch_dir("serve_score_classifier");
  save_sequence_classifier(make_sequence_classifier({"a", "b"}, Pooling::Last, model.model.config.hidden_size, 1), dir);
  serve::RewardModels rewards;
  test::expect_error([&] { rewards.add("rm=" + dir, model); }, {"not a reward model"});
  test::expect_error([&] { rewards.add("rm", model); }, {"--reward-model", "NAME=DIR"});
  EXPECT_TRUE(rewards.names().empty());
}

}  // namespace
}  // namespace whet
