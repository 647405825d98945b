// The plots' axes (tune/plot_axis.h): steps, ends, ticks and positions worked
// out by hand in the comments.
#include <gtest/gtest.h>

#include <cmath>

#include "tune/plot_axis.h"

namespace whet::tune {
namespace {

std::vector<double> tick_values(const Axis& axis) {
  std::vector<double> out;
  for (const Tick& t : axis.ticks) out.push_back(t.value);
  return out;
}

std::vector<std::string> tick_labels(const Axis& axis) {
  std::vector<std::string> out;
  for (const Tick& t : axis.ticks) out.push_back(t.label);
  return out;
}

void expect_values(const Axis& axis, const std::vector<double>& expected) {
  const std::vector<double> got = tick_values(axis);
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-12 * std::abs(expected[i])) << i;
}

TEST(PlotAxis, NiceStepIsOneTwoOrFiveTimesAPowerOfTen) {
  EXPECT_DOUBLE_EQ(nice_step(2, 5), 0.5);     // 0.4 -> 0.5
  EXPECT_DOUBLE_EQ(nice_step(3, 5), 1);       // 0.6 -> 1
  EXPECT_DOUBLE_EQ(nice_step(10, 5), 2);      // 2 exactly
  EXPECT_DOUBLE_EQ(nice_step(0.07, 5), 0.02);  // 0.014 -> 0.02
  EXPECT_DOUBLE_EQ(nice_step(45, 5), 10);     // 9 -> 10
  EXPECT_DOUBLE_EQ(nice_step(1, 5), 0.2);     // 0.2 exactly, not 0.5 by rounding error
}

TEST(PlotAxis, LinearEndsAtTheTicksAroundTheValues) {
  const Axis a = linear_axis(1, 3);  // step 0.5
  EXPECT_EQ(a.kind, Axis::Kind::Linear);
  EXPECT_EQ(a.low, 1);
  EXPECT_EQ(a.high, 3);
  EXPECT_EQ(tick_labels(a), (std::vector<std::string>{"1", "1.5", "2", "2.5", "3"}));
  EXPECT_DOUBLE_EQ(a.fraction(2.5), 0.75);

  // 0.13 to 0.91: span 0.78, 0.156 a tick -> step 0.2; ends 0 and 1; 0.6 reads 0.6 though k·0.2 is 0.6000000000000001.
  const Axis b = linear_axis(0.13, 0.91);
  EXPECT_NEAR(b.low, 0, 1e-15);
  EXPECT_NEAR(b.high, 1, 1e-15);
  EXPECT_EQ(tick_labels(b), (std::vector<std::string>{"0", "0.2", "0.4", "0.6", "0.8", "1"}));
  EXPECT_NEAR(b.fraction(0.13), 0.13, 1e-12);
}

TEST(PlotAxis, IntegersStepByWholeNumbers) {
  expect_values(linear_axis(0, 3, true), {0, 1, 2, 3});  // 0.6 a tick -> 1
  expect_values(linear_axis(0, 2, true), {0, 1, 2});      // 0.4 -> 0.5, at least 1
  expect_values(linear_axis(0, 40, true), {0, 10, 20, 30, 40});
}

TEST(PlotAxis, ASingleValueGetsASpanAroundIt) {
  expect_values(linear_axis(2, 2), {1.8, 1.9, 2, 2.1, 2.2});  // ±2/10, step 0.1
  expect_values(linear_axis(0, 0), {-1, -0.5, 0, 0.5, 1});  // ±1, step 0.5
  expect_values(linear_axis(5, 5, true), {4, 5, 6});      // ±1
}

TEST(PlotAxis, LogEndsAtPowersOfTen) {
  const Axis a = log_axis(1e-4, 1e-1);
  EXPECT_EQ(a.kind, Axis::Kind::Log);
  expect_values(a, {1e-4, 1e-3, 1e-2, 1e-1});
  EXPECT_EQ(tick_labels(a), (std::vector<std::string>{"0.0001", "0.001", "0.01", "0.1"}));
  EXPECT_NEAR(a.fraction(1e-3), 1.0 / 3, 1e-12);
  EXPECT_NEAR(a.fraction(3e-4), std::log10(3.0) / 3, 1e-12);  // log10(3e-4 / 1e-4) of 3 decades

  // Within one decade: its ends, and 2 and 5 times the lower power.
  const Axis b = log_axis(2e-4, 3e-4);
  expect_values(b, {1e-4, 2e-4, 5e-4, 1e-3});
  EXPECT_NEAR(b.fraction(2e-4), std::log10(2.0), 1e-12);

  // Nine decades: every second power, the span widened to ten so the high end has one.
  const Axis c = log_axis(1e-9, 1);
  expect_values(c, {1e-9, 1e-7, 1e-5, 1e-3, 1e-1, 10});
  EXPECT_EQ(tick_labels(c).front(), "1e-09");
}

TEST(PlotAxis, BandsHoldTheirIndexAtTheirMiddle) {
  const Axis a = band_axis({"lora", "full", "null", "3"});
  EXPECT_EQ(a.kind, Axis::Kind::Band);
  EXPECT_EQ(tick_labels(a), (std::vector<std::string>{"lora", "full", "null", "3"}));
  expect_values(a, {0, 1, 2, 3});
  EXPECT_DOUBLE_EQ(a.fraction(0), 0.125);
  EXPECT_DOUBLE_EQ(a.fraction(1), 0.375);
  EXPECT_DOUBLE_EQ(a.fraction(3), 0.875);
}

}  // namespace
}  // namespace whet::tune
