// Augmentation and mixing: seeded, marked, inputs only.
#include <gtest/gtest.h>

#include "prepare/augment.h"
#include "prepare/mix.h"
#include "prepare/random.h"
#include "pipeline_test_support.h"

namespace whet {
namespace {

TEST(DataPipelineAugment, NoiseFunctions) {
  std::mt19937_64 rng(1);
  EXPECT_EQ(character_noise("abc", 1, 0, 0, rng), "");      // every character dropped
  EXPECT_EQ(character_noise("ab", 0, 1, 0, rng), "ba");     // the first swapped with the second
  EXPECT_EQ(character_noise("a\u00e9Z", 0, 0, 1, rng), "A\u00c9z");
  EXPECT_EQ(character_noise("same", 0, 0, 0, rng), "same");
  EXPECT_EQ(word_dropout("one two three", 0, rng), "one two three");
  const std::string one = word_dropout("one two three", 1, rng);  // all dropped but one kept
  EXPECT_TRUE(one == "one" || one == "two" || one == "three") << one;
  EXPECT_EQ(apply_template("Q: {prompt}\nA ({prompt})", "why"), "Q: why\nA (why)");
}

TEST(DataPipelineAugment, CopiesChangeInputsOnlyAndAreMarked) {
  auto originals = [] {
    return std::vector<Record>{test::completion("Which colour is the sky on a clear day", "blue", 0),
                               test::record_from(R"({"text": "plain text has no inputs"})", 1)};
  };
  AugmentConfig config;
  config.copies = 2;
  config.templates = {"Question: {prompt}"};
  std::vector<Record> templated = originals();
  Ledger ledger;
  augment_stage(templated, config, 9, ledger);
  ASSERT_EQ(templated.size(), 4u);
  for (size_t i = 2; i < 4; ++i) {
    EXPECT_TRUE(templated[i].augmented);
    EXPECT_EQ(templated[i].example.prompt, "Question: Which colour is the sky on a clear day");
    EXPECT_EQ(templated[i].example.completion, "blue");
    EXPECT_EQ(templated[i].marks, std::vector<std::string>{fmt::format("augment: template 1 copy {} of t.jsonl:1", i - 1)});
  }
  EXPECT_EQ(ledger.stages().back().counts.at("records without inputs, not augmented"), 1u);
  EXPECT_EQ(ledger.stages().back().added.at("template 1"), 2u);

  config.templates.clear();
  config.word_dropout = 0.5;
  std::vector<Record> noisy = originals(), again = originals();
  augment_stage(noisy, config, 9, ledger);
  augment_stage(again, config, 9, ledger);
  ASSERT_EQ(noisy.size(), 4u);
  EXPECT_EQ(noisy[2].example.completion, "blue");
  EXPECT_NE(noisy[2].example.prompt, noisy[0].example.prompt);
  EXPECT_NE(noisy[2].example.prompt, noisy[3].example.prompt);  // each copy draws its own noise
  EXPECT_EQ(noisy[2].example.prompt, again[2].example.prompt);  // the seed decides
}

TEST(DataPipelineMix, WeightsCopyAndSample) {
  EXPECT_EQ(copies_for_weight(2, 0.99), 2u);
  EXPECT_EQ(copies_for_weight(1.5, 0.49), 2u);
  EXPECT_EQ(copies_for_weight(1.5, 0.5), 1u);
  EXPECT_EQ(copies_for_weight(0.25, 0.3), 0u);
  std::vector<SourceConfig> sources(2);
  sources[0].weight = 3;
  sources[1].weight = 0.5;
  std::vector<Record> train;
  for (size_t i = 0; i < 200; ++i) {
    train.push_back(test::completion("p" + std::to_string(i), "c", i));
    train.back().source = i < 100 ? 0 : 1;
  }
  Ledger ledger;
  mix_stage(train, sources, 3, ledger);
  size_t from_first = 0;
  for (const Record& r : train) from_first += r.source == 0;
  EXPECT_EQ(from_first, 300u);
  const size_t from_second = train.size() - from_first;
  EXPECT_GT(from_second, 35u);  // about 50 of 100
  EXPECT_LT(from_second, 65u);
  EXPECT_EQ(ledger.stages().back().dropped.at("sampled out by source weight"), 100 - from_second);
  EXPECT_EQ(ledger.stages().back().added.at("copy for source weight"), 200u);
}

}  // namespace
}  // namespace whet
