// Rollouts: groups decoded together give, greedily, what one-at-a-time
// generation gives each prompt, every member of a group alike; sampled, the
// members differ; an adapter passed in is applied to every row; min_tokens
// keeps the end tokens out until a completion is that long.
#include <gtest/gtest.h>

#include <algorithm>

#include "generate/generator.h"
#include "generate/rollout.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "test_support.h"

namespace whet {
namespace {

std::vector<std::vector<int32_t>> prompts() { return {{1, 5, 9, 2}, {3, 4}, {7, 7, 7, 7, 7, 1}}; }

GenerationResult one_at_a_time(const LoadedModel& model, const std::vector<int32_t>& prompt, int max_tokens) {
  Session session(model.model, int64_t(prompt.size()) + max_tokens);
  GenerationOptions greedy;
  greedy.sampling.temperature = 0.0f;
  greedy.max_tokens = max_tokens;
  return generate(model, session, prompt, greedy);
}

TEST(Rollout, GreedyGroupsMatchOneAtATimeGeneration) {
  LoadedModel model = load_model(test::testdata_path("tiny/gqa_tied/hf"));
  RolloutOptions options;
  options.group_size = 3;
  options.max_tokens = 6;
  options.sampling.temperature = 0.0f;
  for (int with_adapter = 0; with_adapter < 2; ++with_adapter) {
    SCOPED_TRACE(with_adapter ? "with the adapter" : "the base");
    std::shared_ptr<LlamaLora> lora;
    if (with_adapter)
      lora = std::make_shared<LlamaLora>(load_peft_adapter(test::testdata_path("tiny/gqa_tied/gradients/lora"), model.model.config));
    model.adapter = lora;  // what generate applies
    const std::vector<Rollout> rollouts = generate_rollouts(model, lora.get(), prompts(), options);
    ASSERT_EQ(rollouts.size(), 9u);
    for (size_t i = 0; i < rollouts.size(); ++i) {
      EXPECT_EQ(rollouts[i].prompt, i / 3);
      const GenerationResult want = one_at_a_time(model, prompts()[i / 3], options.max_tokens);
      std::vector<int32_t> tokens = want.tokens;
      if (rollouts[i].ended) tokens.push_back(rollouts[i].tokens.back());  // the end token is kept for training
      EXPECT_EQ(rollouts[i].tokens, tokens) << i;
      EXPECT_EQ(rollouts[i].text, want.text) << i;
      EXPECT_EQ(rollouts[i].ended, want.finish_reason == "stop") << i;
      EXPECT_LE(rollouts[i].tokens.size(), 6u);
    }
  }
}

TEST(Rollout, SampledGroupMembersDiffer) {
  const LoadedModel model = load_model(test::testdata_path("tiny/gqa_tied/hf"));
  RolloutOptions options;
  options.group_size = 4;
  options.max_tokens = 8;
  options.sampling.temperature = 1.0f;
  const std::vector<Rollout> rollouts = generate_rollouts(model, nullptr, prompts(), options);
  ASSERT_EQ(rollouts.size(), 12u);
  int differing = 0;
  for (size_t g = 0; g < 3; ++g)
    for (size_t i = 1; i < 4; ++i) differing += rollouts[g * 4 + i].tokens != rollouts[g * 4].tokens ? 1 : 0;
  EXPECT_GE(differing, 6) << "each member samples with its own seed";
  // The same seed samples the same rollouts.
  const std::vector<Rollout> again = generate_rollouts(model, nullptr, prompts(), options);
  for (size_t i = 0; i < rollouts.size(); ++i) EXPECT_EQ(again[i].tokens, rollouts[i].tokens);
}

// With the end token made the one greedy decoding picks first, prompt 0's
// rollouts end at once; with min_tokens = max_tokens every rollout runs to
// max_tokens and never holds that token.
TEST(Rollout, MinTokensKeepsEndTokensOut) {
  LoadedModel model = load_model(test::testdata_path("tiny/gqa_tied/hf"));
  RolloutOptions options;
  options.group_size = 2;
  options.max_tokens = 5;
  options.sampling.temperature = 0.0f;
  const int32_t first = generate_rollouts(model, nullptr, prompts(), options)[0].tokens[0];
  TokenizerSpec spec = model.tokenizer.spec();
  spec.eos_id = first;
  model.tokenizer = Tokenizer(spec);
  const std::vector<Rollout> ending = generate_rollouts(model, nullptr, prompts(), options);
  EXPECT_TRUE(ending[0].ended);
  EXPECT_EQ(ending[0].tokens.size(), 1u);

  options.min_tokens = options.max_tokens;
  for (const Rollout& r : generate_rollouts(model, nullptr, prompts(), options)) {
    EXPECT_FALSE(r.ended);
    EXPECT_EQ(r.tokens.size(), 5u);
    EXPECT_EQ(std::count(r.tokens.begin(), r.tokens.end(), first), 0);
  }
}

}  // namespace
}  // namespace whet
