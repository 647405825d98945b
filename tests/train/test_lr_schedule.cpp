// Learning-rate schedules at points derived by hand from transformers' definitions, and
// against transformers' formulas evaluated in Python
// (tests/fixtures/optimizer_reference.json, made by tests/python/make_optimizer_reference.py).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numbers>
#include <string>

#include <nlohmann/json.hpp>

#include "../test_support.h"
#include "train/lr_schedule.h"

namespace whet {
namespace {

using json = nlohmann::json;

constexpr double kBase = 1e-3;
constexpr int64_t kWarmup = 10, kTotal = 110;  // 100 steps of decay after warmup

double lr(LrScheduler kind, int64_t step, double min_lr = 0.0) {
  return lr_at(LrSchedule{kind, kWarmup, min_lr}, kBase, step, kTotal);
}

// Warmup is step / warmup_steps for every kind: LambdaLR evaluates the lambda at 0 for the
// first update, so that update gets lr 0, step 5 of 10 gets half, step 10 the full rate.
TEST(LrSchedule, WarmupRisesLinearlyFromZero) {
  for (LrScheduler kind : {LrScheduler::Constant, LrScheduler::Linear, LrScheduler::Cosine}) {
    EXPECT_EQ(lr(kind, 0), 0.0);
    EXPECT_DOUBLE_EQ(lr(kind, 5), kBase / 2);
    EXPECT_DOUBLE_EQ(lr(kind, 10), kBase);
  }
}

TEST(LrSchedule, WithoutWarmupTheFirstUpdateUsesTheBaseRate) {
  for (LrScheduler kind : {LrScheduler::Constant, LrScheduler::Linear, LrScheduler::Cosine})
    EXPECT_EQ(lr_at(LrSchedule{kind, 0, 0.0}, kBase, 0, kTotal), kBase);
}

TEST(LrSchedule, ConstantStaysAtBaseAfterWarmup) {
  for (int64_t step : {10, 60, 110, 500}) EXPECT_EQ(lr(LrScheduler::Constant, step), kBase);
}

// Linear: (total - step) / (total - warmup), clamped at 0. Step 60: 50/100; step 110: 0;
// step 120: -10/100, clamped to 0.
TEST(LrSchedule, LinearDecaysToZero) {
  EXPECT_DOUBLE_EQ(lr(LrScheduler::Linear, 60), kBase / 2);
  EXPECT_DOUBLE_EQ(lr(LrScheduler::Linear, 85), kBase / 4);
  EXPECT_EQ(lr(LrScheduler::Linear, 110), 0.0);
  EXPECT_EQ(lr(LrScheduler::Linear, 120), 0.0);
}

// Cosine with half a cycle: 0.5 * (1 + cos(pi * progress)), progress = (step - warmup) / 100.
// Step 60: progress 1/2, cos(pi/2) = 0, so base/2. Step 35: progress 1/4, so
// (1 + sqrt(2)/2) / 2 of base. Step 110: cos(pi) = -1, so 0. Past the end it rises again
// as in transformers: step 120 is (1 - cos(pi/10)) / 2 of base.
TEST(LrSchedule, CosineDecaysToZeroThroughHalfACycle) {
  EXPECT_NEAR(lr(LrScheduler::Cosine, 60), kBase / 2, 1e-18);
  EXPECT_DOUBLE_EQ(lr(LrScheduler::Cosine, 35), kBase * (1 + std::numbers::sqrt2 / 2) / 2);
  EXPECT_EQ(lr(LrScheduler::Cosine, 110), 0.0);
  EXPECT_DOUBLE_EQ(lr(LrScheduler::Cosine, 120), kBase * (1 - std::cos(std::numbers::pi / 10)) / 2);
}

// With min_lr the cosine factor f becomes f * (1 - r) + r, r = min_lr / base: at the end
// f = 0 gives min_lr; half-way f = 1/2 gives (base + min_lr) / 2. Warmup still starts at 0.
TEST(LrSchedule, CosineDecaysToMinLr) {
  const double min_lr = 1e-4;
  EXPECT_EQ(lr(LrScheduler::Cosine, 0, min_lr), 0.0);
  EXPECT_DOUBLE_EQ(lr(LrScheduler::Cosine, 10, min_lr), kBase);
  EXPECT_NEAR(lr(LrScheduler::Cosine, 60, min_lr), (kBase + min_lr) / 2, 1e-18);
  EXPECT_DOUBLE_EQ(lr(LrScheduler::Cosine, 110, min_lr), min_lr);
}

TEST(LrSchedule, MatchesTransformersFormulas) {
  std::ifstream in(test::source_path("tests/fixtures/optimizer_reference.json"));
  ASSERT_TRUE(in);
  const json reference = json::parse(in);
  for (const json& c : reference["schedules"]) {
    const std::string kind_name = c["kind"];
    const LrScheduler kind = kind_name == "constant" ? LrScheduler::Constant
                             : kind_name == "linear" ? LrScheduler::Linear
                                                     : LrScheduler::Cosine;
    const LrSchedule schedule{kind, c["warmup_steps"].get<int64_t>(), c["min_lr"].get<double>()};
    for (size_t i = 0; i < c["steps"].size(); ++i) {
      const int64_t step = c["steps"][i];
      EXPECT_DOUBLE_EQ(lr_at(schedule, c["base_lr"], step, c["total_steps"]), c["lrs"][i].get<double>())
          << kind_name << " warmup " << schedule.warmup_steps << " total " << c["total_steps"] << " min_lr "
          << schedule.min_lr << " step " << step;
    }
  }
}

}  // namespace
}  // namespace whet
