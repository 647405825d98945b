// A study's report.md and report.html (tune/study_report.h) on a hand-made
// study: the page is well-formed XML and self-contained, each plot holds one dot
// per trial where the comments work out it belongs, and hostile names and notes
// stay text.
#include <gtest/gtest.h>

#include <map>

#include "tune/param_values.h"
#include "tune/report_page.h"
#include "tune/space_text.h"
#include "tune/study_plots.h"
#include "tune/study_report.h"
#include "tune/svg_plot.h"

namespace whet::tune {
namespace {

const Objective kObjective{"val_loss", Direction::Minimize};

const SearchSpace kSpace = parse_test_space(
    "learning_rate: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}\n"
    "method: {type: categorical, choices: [lora, full]}\n");

Trial make_trial(const SearchSpace& space, int64_t number, TrialState state, std::map<std::string, double> params,
                 std::optional<double> value, std::string note = "") {
  Trial t{.number = number, .state = state, .params = std::move(params), .value = value, .note = std::move(note)};
  t.distributions = distributions_of(space, t.params);
  return t;
}

// Minimising; method 0 is lora, 1 full.
std::vector<Trial> hand_made_study() {
  return {make_trial(kSpace, 0, TrialState::Complete, {{"learning_rate", 1e-3}, {"method", 0}}, 2.0),
          make_trial(kSpace, 1, TrialState::Complete, {{"learning_rate", 1e-2}, {"method", 1}}, 1.0),
          make_trial(kSpace, 2, TrialState::Pruned, {{"learning_rate", 1e-4}, {"method", 0}}, 3.0, "pruned at step 2"),
          make_trial(kSpace, 3, TrialState::Fail, {{"learning_rate", 1e-1}, {"method", 1}}, std::nullopt, "diverged"),
          make_trial(kSpace, 4, TrialState::Complete, {{"learning_rate", 1e-3}, {"method", 1}}, 1.5)};
}

// A plot's dots by trial number (their tooltips begin "trial N,").
std::map<int64_t, nlohmann::json> dots_by_trial(const nlohmann::json& svg) {
  std::map<int64_t, nlohmann::json> out;
  for (const nlohmann::json& dot : svg["dots"]) {
    const std::string title = dot["title"];
    EXPECT_TRUE(title.starts_with("trial ")) << title;
    EXPECT_TRUE(out.emplace(std::stoll(title.substr(6)), dot).second) << "two dots for " << title;
  }
  return out;
}

void expect_dot(const std::map<int64_t, nlohmann::json>& dots, int64_t trial, double x, double y,
                std::string_view colour) {
  ASSERT_TRUE(dots.contains(trial)) << trial;
  const nlohmann::json& dot = dots.at(trial);
  EXPECT_NEAR(dot["cx"].get<double>(), x, 0.01) << trial;
  EXPECT_NEAR(dot["cy"].get<double>(), y, 0.01) << trial;
  EXPECT_EQ(dot["fill"], colour) << trial;
}

bool has_text(const nlohmann::json& svg, const std::string& text) {
  for (const nlohmann::json& t : svg["texts"])
    if (t == text) return true;
  return false;
}

// The frame the expected pixels below are worked out in: data from x 92 to 518
// (426 wide) and y 248 (the axis's low end) up to 52 (196 tall); the bottom edge at 260.
TEST(StudyReport, FrameOfTheWorkedPixels) {
  EXPECT_EQ(SvgPlot::kFrameLeft + SvgPlot::kInset, 92);
  EXPECT_EQ(SvgPlot::kFrameWidth - 2 * SvgPlot::kInset, 426);
  EXPECT_EQ(SvgPlot::kFrameTop + SvgPlot::kFrameHeight - SvgPlot::kInset, 248);
  EXPECT_EQ(SvgPlot::kFrameHeight - 2 * SvgPlot::kInset, 196);
  EXPECT_EQ(SvgPlot::frame_bottom(), 260);
}

TEST(StudyReport, HistoryHasADotPerTrialAndTheBestSoFar) {
  const nlohmann::json page = test::read_report_html(
      study_report_html(hand_made_study(), kSpace, kObjective, "runs/study"), "study_report_history");
  ASSERT_FALSE(page.is_null());
  EXPECT_TRUE(page["offline"].empty()) << page["offline"];
  ASSERT_EQ(page["svgs"].size(), 4u);  // the history, a slice per parameter, the importance
  const nlohmann::json& history = page["svgs"][0];
  // x: trials 0 to 4 (step 1), 106.5 px a trial. y: values 1 to 3 (step 0.5), 98 px a unit.
  const auto dots = dots_by_trial(history);
  EXPECT_EQ(dots.size(), 5u);
  expect_dot(dots, 0, 92, 248 - 98 * (2.0 - 1), kCompleteColour);
  expect_dot(dots, 1, 198.5, 248, kCompleteColour);
  expect_dot(dots, 2, 305, 52, kPrunedColour);        // its last value, 3
  expect_dot(dots, 3, 411.5, 260, kFailedColour);     // no value: on the bottom edge
  expect_dot(dots, 4, 518, 248 - 98 * 0.5, kCompleteColour);
  EXPECT_EQ(dots.at(2)["title"],
            "trial 2, pruned: val_loss 3; learning_rate=0.0001, method=\"lora\"; pruned at step 2");
  // Best so far: 2 at trial 0, 1 from trial 1 on (trial 4's 1.5 does not better it).
  ASSERT_EQ(history["lines"].size(), 1u);
  EXPECT_EQ(history["lines"][0], nlohmann::json::parse("[[92, 150], [198.5, 150], [198.5, 248], [518, 248]]"));
  for (const char* tick : {"0", "1", "2", "3", "4", "1.5", "2.5", "trial", "val_loss", "best so far"})
    EXPECT_TRUE(has_text(history, tick)) << tick;
}

TEST(StudyReport, SlicesPlaceCompleteTrialsByParameter) {
  const nlohmann::json page = test::read_report_html(
      study_report_html(hand_made_study(), kSpace, kObjective, "runs/study"), "study_report_slices");
  ASSERT_FALSE(page.is_null());
  // y: the complete trials' values 1 to 2 (step 0.2), 196 px a unit. Colours by
  // trial of 0 to 4: trial 1 is a quarter of the way, (198 - 47.5, 219 - 42.75, 239 - 33).
  const std::string first = trial_colour(0, 4), second = trial_colour(1, 4), last = trial_colour(4, 4);
  EXPECT_EQ(first, "#c6dbef");
  EXPECT_EQ(second, "#97b0ce");
  EXPECT_EQ(last, "#08306b");

  // learning_rate on a log axis of three decades, 1e-4 to 1e-1: 1e-3 a third of the way, 1e-2 two thirds.
  const nlohmann::json& rate = page["svgs"][1];
  EXPECT_TRUE(has_text(rate, "Slice: learning_rate"));
  for (const char* tick : {"0.0001", "0.001", "0.01", "0.1", "1", "1.2", "2"})
    EXPECT_TRUE(has_text(rate, tick)) << tick;
  auto dots = dots_by_trial(rate);
  EXPECT_EQ(dots.size(), 3u);  // the pruned and the failed trial are not drawn
  expect_dot(dots, 0, 92 + 426.0 / 3, 52, first);
  expect_dot(dots, 1, 92 + 426.0 * 2 / 3, 248, second);
  expect_dot(dots, 4, 92 + 426.0 / 3, 150, last);

  // method in two bands: lora's middle a quarter of the way, full's three quarters.
  const nlohmann::json& method = page["svgs"][2];
  EXPECT_TRUE(has_text(method, "lora") && has_text(method, "full"));
  dots = dots_by_trial(method);
  EXPECT_EQ(dots.size(), 3u);
  expect_dot(dots, 0, 198.5, 52, first);
  expect_dot(dots, 1, 411.5, 248, second);
  expect_dot(dots, 4, 411.5, 150, last);
}

TEST(StudyReport, PageAndMarkdownSayTheSame) {
  const std::vector<Trial> trials = hand_made_study();
  const nlohmann::json page =
      test::read_report_html(study_report_html(trials, kSpace, kObjective, "runs/study"), "study_report_text");
  ASSERT_FALSE(page.is_null());
  const std::string text = page["text"];
  const std::string markdown = study_report_markdown(trials, kSpace, kObjective, "runs/study");
  for (const char* both :
       {"Study runs/study", "Objective: minimise val_loss. Trials: 5 (3 complete, 1 pruned, 1 failed).",
        "Trial 1: val_loss 1 with learning_rate=0.01, method=\"full\". Its config: best.yaml"}) {
    EXPECT_NE(text.find(both), std::string::npos) << both << "\n" << text;
    EXPECT_NE(markdown.find(both), std::string::npos) << both << "\n" << markdown;
  }
  EXPECT_NE(markdown.find("[report.html](report.html)"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("| 3 | failed | learning_rate=0.1, method=\"full\" |  | diverged |"), std::string::npos)
      << markdown;
  // Importance: method explains 0.375 of 0.5 (η² 0.75), learning_rate (one bin of 3 trials) none: 1 and 0.
  EXPECT_NE(markdown.find("| learning_rate | 0.00 |\n| method | 1.00 |"), std::string::npos) << markdown;
  const nlohmann::json& bars = page["svgs"][3];
  EXPECT_EQ(bars["texts"], nlohmann::json::parse(R"(["Parameter importance", "method", "1", "learning_rate", "0"])"));
}

TEST(StudyReport, HostileNamesAndNotesStayText) {
  const std::string name = "x\"/><script>alert('&')</script><!--";
  SearchSpace space;
  space.parameters.push_back(
      {.name = name, .distribution = {.kind = Distribution::Kind::Categorical, .choices = {"</text><b>", "&amp;"}}});
  std::vector<Trial> trials;  // values 1, 3, 2: the choice explains some of their spread
  for (int64_t i = 0; i < 3; ++i)
    trials.push_back(make_trial(space, i, TrialState::Complete, {{name, double(i % 2)}}, std::vector{1.0, 3.0, 2.0}[i],
                                i == 1 ? "bad \x01 byte \xff <i>]]>" : ""));
  const std::string html = study_report_html(trials, space, kObjective, "runs/a&b<c>");
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<i>"), std::string::npos);
  const nlohmann::json page = test::read_report_html(html, "study_report_hostile");
  ASSERT_FALSE(page.is_null());
  EXPECT_TRUE(page["offline"].empty()) << page["offline"];
  EXPECT_NE(page["text"].get<std::string>().find("Study runs/a&b<c>"), std::string::npos) << page["text"];
  const std::string replaced = "bad \xEF\xBF\xBD byte \xEF\xBF\xBD <i>]]>";  // U+FFFD for what XML cannot hold
  EXPECT_NE(page["text"].get<std::string>().find(replaced), std::string::npos) << page["text"];
  ASSERT_EQ(page["svgs"].size(), 3u);
  EXPECT_NE(dots_by_trial(page["svgs"][0]).at(1)["title"].get<std::string>().find(replaced), std::string::npos);
  const nlohmann::json& slice = page["svgs"][1];
  for (const std::string& text : {"Slice: " + name, name, std::string("</text><b>"), std::string("&amp;")})
    EXPECT_TRUE(has_text(slice, text)) << text;
  EXPECT_TRUE(has_text(page["svgs"][2], name));  // the importance bar's label
}

}  // namespace
}  // namespace whet::tune
