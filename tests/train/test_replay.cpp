// Replay against forgetting: which replay sequences each step takes is a
// function of the step alone (so a resumed run continues the same stream),
// every sequence is used once per pass, and the built-in corpus loads whole.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "eval/builtin_files.h"
#include "models/model_loader.h"
#include "test_support.h"
#include "train/replay.h"

namespace whet {
namespace {

// 7 sequences, ratio 0.25 of 6 task sequences per step: 1.5 per step, so steps
// alternate 1 and 2, and 28 steps take 42 = six whole passes.
TEST(ReplaySchedule, AccountsForEverySequenceOncePerPass) {
  const ReplaySchedule schedule(7, 0.25, 6, 42);
  std::vector<size_t> stream;
  for (int64_t step = 0; step < 28; ++step) {
    const std::vector<size_t> taken = schedule.for_step(step);
    EXPECT_EQ(taken.size(), step % 2 == 0 ? 1u : 2u) << step;
    stream.insert(stream.end(), taken.begin(), taken.end());
  }
  ASSERT_EQ(stream.size(), 42u);
  std::vector<std::vector<size_t>> passes;
  for (size_t pass = 0; pass < 6; ++pass) {
    std::vector<size_t> order(stream.begin() + pass * 7, stream.begin() + (pass + 1) * 7);
    passes.push_back(order);
    std::sort(order.begin(), order.end());
    EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4, 5, 6})) << "pass " << pass;
  }
  // Each pass is shuffled anew (a fixed order would replay the same neighbours together).
  EXPECT_NE(passes[0], passes[1]);
}

TEST(ReplaySchedule, DependsOnlyOnTheStepAndTheSeed) {
  const ReplaySchedule a(11, 0.3, 4, 5), b(11, 0.3, 4, 5), other_seed(11, 0.3, 4, 6);
  bool differs = false;
  // Asked out of order, as a resumed run asks from its checkpoint's step.
  for (int64_t step : {37, 0, 12, 13, 500, 1}) {
    EXPECT_EQ(a.for_step(step), b.for_step(step)) << step;
    EXPECT_EQ(a.for_step(step), a.for_step(step)) << step;
    differs |= a.for_step(step) != other_seed.for_step(step);
  }
  EXPECT_TRUE(differs);
}

// Ratios that are not binary fractions still come out exact: 0.1 of 10 is one per step.
TEST(ReplaySchedule, DecimalRatiosDoNotDrift) {
  const ReplaySchedule schedule(3, 0.1, 10, 1);
  for (int64_t step = 0; step < 1000; ++step) ASSERT_EQ(schedule.for_step(step).size(), 1u) << step;
  EXPECT_TRUE(ReplaySchedule(0, 0.5, 4, 1).for_step(3).empty());
}

// The built-in corpus reads whole (every line a text paragraph or a chat pair)
// with a real tokenizer and its chat template, and is not the forgetting check's data.
TEST(ReplayData, BuiltinGeneralCorpusLoadsWhole) {
  const std::string_view corpus = builtin_file(kGeneralReplay);
  ASSERT_FALSE(corpus.empty());
  EXPECT_EQ(corpus.find(builtin_file(kGeneralText).substr(0, 80)), std::string_view::npos);
  const size_t lines = size_t(std::count(corpus.begin(), corpus.end(), '\n'));
  EXPECT_GE(lines, 150u);
  const LoadedModel loaded = load_model(test::testdata_path("tiny/gqa_tied/hf"));
  DataOptions options;
  options.sequence_len = 256;
  options.sample_packing = false;
  const ChatTemplate chat = loaded.chat_template ? *loaded.chat_template : ChatTemplate::by_name("alpaca");
  const ReplayData replay = load_replay_data(std::string(kBuiltinReplay), loaded.tokenizer, chat, options);
  EXPECT_EQ(replay.sequences.size(), lines);  // one sequence per line without packing: none skipped
  EXPECT_NE(replay.summary.find("replay.jsonl"), std::string::npos) << replay.summary;
}

}  // namespace
}  // namespace whet
