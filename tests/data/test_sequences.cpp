// Tokenized examples -> training sequences: causal targets, packing boundaries,
// truncation and the examples left out, with their counts.
#include <gtest/gtest.h>

#include "data/sequences.h"
#include "data_test_support.h"

namespace whet {
namespace {

// Ids first*100 + i, so every token names its example; loss as given.
TokenizedExample example(int first, const std::vector<bool>& loss) {
  TokenizedExample e;
  for (size_t i = 0; i < loss.size(); ++i) e.ids.push_back(first * 100 + int32_t(i));
  e.loss = loss;
  return e;
}

DataOptions options(int sequence_len, bool packing = true) {
  DataOptions o;
  o.sequence_len = sequence_len;
  o.sample_packing = packing;
  return o;
}

TEST(BuildSequences, OneExampleIsShiftedByOne) {
  SequenceStats stats;
  const auto seqs = build_sequences({example(1, {false, false, true, true})}, options(8), stats);
  ASSERT_EQ(seqs.size(), 1u);
  EXPECT_EQ(seqs[0].ids, (std::vector<int32_t>{100, 101, 102}));
  EXPECT_EQ(seqs[0].targets, (std::vector<int32_t>{-1, 102, 103}));
  EXPECT_EQ(seqs[0].positions, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(seqs[0].segment_begin, (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(stats.tokens, 3u);
  EXPECT_EQ(stats.loss_tokens, 2u);
}

TEST(BuildSequences, PackingKeepsExamplesApart) {
  SequenceStats stats;
  // 4, 3 and 5 tokens: 3, 2 and 4 positions; the third does not fit beside the first two in 8.
  const auto seqs = build_sequences(
      {example(1, {true, true, true, true}), example(2, {false, true, true}), example(3, {true, true, false, true, true})},
      options(8), stats);
  ASSERT_EQ(seqs.size(), 2u);
  EXPECT_EQ(seqs[0].ids, (std::vector<int32_t>{100, 101, 102, 200, 201}));
  EXPECT_EQ(seqs[0].targets, (std::vector<int32_t>{101, 102, 103, 201, 202}));
  EXPECT_EQ(seqs[0].positions, (std::vector<int32_t>{0, 1, 2, 0, 1}));
  EXPECT_EQ(seqs[0].segment_begin, (std::vector<int32_t>{0, 0, 0, 3, 3}));
  EXPECT_EQ(seqs[1].targets, (std::vector<int32_t>{301, -1, 303, 304}));
  EXPECT_EQ(seqs[1].segment_begin, (std::vector<int32_t>{0, 0, 0, 0}));
  // No position predicts a token of another example: the last token of an example is a target, never an input.
  for (const TrainingSequence& s : seqs)
    for (size_t i = 0; i < s.ids.size(); ++i) {
      EXPECT_TRUE(s.targets[i] == -1 || s.targets[i] / 100 == s.ids[i] / 100) << i;
      EXPECT_EQ(s.ids[s.segment_begin[i]] / 100, s.ids[i] / 100);
      EXPECT_EQ(s.positions[i], int32_t(i) - s.segment_begin[i]);
    }
  EXPECT_EQ(stats.examples, 3u);
  EXPECT_EQ(stats.sequences, 2u);
  EXPECT_EQ(stats.tokens, 9u);
  EXPECT_EQ(stats.loss_tokens, 8u);
}

TEST(BuildSequences, WithoutPackingOneExamplePerSequence) {
  SequenceStats stats;
  const auto seqs = build_sequences({example(1, {true, true}), example(2, {true, true})}, options(8, false), stats);
  ASSERT_EQ(seqs.size(), 2u);
  EXPECT_EQ(seqs[1].ids, std::vector<int32_t>{200});
  EXPECT_EQ(seqs[1].segment_begin, std::vector<int32_t>{0});
}

TEST(BuildSequences, LongExamplesAreTruncatedOrDropped) {
  const std::vector<TokenizedExample> examples = {
      example(1, std::vector<bool>(12, true)),  // too long: 12 > 4 + 1
      example(2, std::vector<bool>(5, true)),   // exactly sequence_len + 1: fits
      example(3, {false, false, false, false, false, true}),  // too long, and its only loss is cut off
  };
  SequenceStats cut;
  const auto seqs = build_sequences(examples, options(4), cut);
  ASSERT_EQ(seqs.size(), 2u);
  EXPECT_EQ(seqs[0].ids, (std::vector<int32_t>{100, 101, 102, 103}));
  EXPECT_EQ(seqs[0].targets, (std::vector<int32_t>{101, 102, 103, 104}));
  EXPECT_EQ(seqs[1].ids.size(), 4u);
  EXPECT_EQ(cut.truncated, 1u);
  EXPECT_EQ(cut.dropped_no_loss, 1u);
  EXPECT_EQ(cut.dropped_long, 0u);

  DataOptions drop = options(4);
  drop.drop_long = true;
  SequenceStats dropped;
  EXPECT_EQ(build_sequences(examples, drop, dropped).size(), 1u);
  EXPECT_EQ(dropped.dropped_long, 2u);
  EXPECT_EQ(dropped.truncated, 0u);
}

TEST(BuildSequences, ExamplesWithoutLossAreCountedAndSkipped) {
  SequenceStats stats;
  const auto seqs = build_sequences({example(1, {true, false, false}), example(2, {true}), example(3, {}),
                                     example(4, {false, true})},
                                    options(8), stats);
  ASSERT_EQ(seqs.size(), 1u);
  EXPECT_EQ(seqs[0].ids, std::vector<int32_t>{400});
  EXPECT_EQ(stats.dropped_no_loss, 3u);  // loss on the first token only is no loss: nothing predicts it
}

TEST(BuildSequences, RejectsAnEmptySequenceLength) {
  SequenceStats stats;
  test::expect_error([&] { build_sequences({}, options(0), stats); }, {"sequence_len"});
}

}  // namespace
}  // namespace whet
