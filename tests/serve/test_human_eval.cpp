// Human evaluation sessions without a server: the items cover every pair of
// models evenly, the blind order varies by item and rater and repeats, the
// store keeps sessions, answers and each rater's newest rating (with the
// history), a database of schema 3 gains the tables, the results count by hand,
// and the export writes the A/B ratings as pairs and counts the rest.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "serve/human_eval.h"
#include "serve/human_eval_export.h"
#include "serve/human_eval_results.h"
#include "serve/job_store.h"
#include "serve/job_store_rollback.h"
#include "cli/run_whet.h"
#include "test_support.h"

namespace whet::serve {
namespace {

using nlohmann::json;

std::string db_path() { return test::this_test_scratch("human_eval_") + "/whet.sqlite"; }

TEST(HumanEval, TwoModelsGiveOneItemPerPrompt) {
  const auto items = plan_items(6, {"base", "tuned"}, 3);
  ASSERT_EQ(items.size(), 6u);
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].id, "item-" + std::to_string(i + 1));
    EXPECT_EQ(items[i].prompt_index, int64_t(i));
    EXPECT_EQ(items[i].first, "base");  // the session's order, whatever is shown
    EXPECT_EQ(items[i].second, "tuned");
  }
}

// Four models have six pairs. 14 prompts: one pair each, counts 3 3 2 2 2 2.
// Four prompts: two pairs each (ceil 6/4), eight items, counts 2 2 1 1 1 1, never one pair twice on a prompt.
TEST(HumanEval, PairsOfManyModelsAreCoveredEvenly) {
  const std::vector<std::string> models = {"a", "b", "c", "d"};
  for (size_t prompts : {14u, 4u, 1u}) {
    const auto items = plan_items(prompts, models, 11);
    std::map<std::pair<std::string, std::string>, int> per_pair;
    std::map<int64_t, std::set<std::pair<std::string, std::string>>> per_prompt;
    for (const HumanEvalItem& item : items) {
      EXPECT_LT(item.first, item.second);  // session order
      ++per_pair[{item.first, item.second}];
      EXPECT_TRUE(per_prompt[item.prompt_index].insert({item.first, item.second}).second) << "a pair twice on a prompt";
    }
    ASSERT_EQ(per_pair.size(), 6u) << prompts;
    int low = 1 << 30, high = 0;
    for (const auto& [pair, n] : per_pair) low = std::min(low, n), high = std::max(high, n);
    EXPECT_LE(high - low, 1) << prompts;
    EXPECT_EQ(per_prompt.size(), prompts);
  }
  EXPECT_EQ(plan_items(14, models, 11).size(), 14u);
  EXPECT_EQ(plan_items(4, models, 11).size(), 8u);
  EXPECT_EQ(plan_items(1, models, 11).size(), 6u);
}

TEST(HumanEval, BlindOrderVariesByItemAndRaterAndRepeats) {
  int swapped = 0, differs_by_rater = 0;
  for (int i = 1; i <= 200; ++i) {
    const std::string item = "item-" + std::to_string(i);
    const bool ann = second_shown_first(5, item, "ann");
    EXPECT_EQ(ann, second_shown_first(5, item, "ann"));
    swapped += ann;
    differs_by_rater += ann != second_shown_first(5, item, "bob");
  }
  // Fair coins: 200 flips land far inside 60..140.
  EXPECT_GT(swapped, 60);
  EXPECT_LT(swapped, 140);
  EXPECT_GT(differs_by_rater, 60);
  EXPECT_LT(differs_by_rater, 140);
}

HumanEvalSession stored_session(JobStore& store, int prompts = 3) {
  HumanEvalSession s;
  s.name = "check";
  s.task = "task.jsonl";
  s.models = {"base", "tuned"};
  s.seed = 9;
  std::vector<HumanEvalPrompt> list;
  for (int i = 0; i < prompts; ++i)
    list.push_back({i, i + 1, json::array({{{"role", "user"}, {"content", "q" + std::to_string(i)}}})});
  return store.create_human_eval_session(s, list, plan_items(size_t(prompts), s.models, s.seed));
}

HumanEvalRating rating(const std::string& item, const std::string& rater, const std::string& a, const std::string& b,
                       const std::string& choice) {
  return HumanEvalRating{item, rater, a, b, choice, "", 0};
}

TEST(HumanEval, StoreKeepsSessionsAnswersAndTheNewestRatingWithItsHistory) {
  JobStore store(db_path());
  const HumanEvalSession s = stored_session(store);
  EXPECT_TRUE(s.id.starts_with("heval-"));
  EXPECT_EQ(store.generating_human_eval_sessions(), std::vector<std::string>{s.id});
  store.add_human_eval_answer(s.id, {0, "base", "b0", "stop"});
  store.add_human_eval_answer(s.id, {0, "tuned", "t0", "length"});
  HumanEvalSession read = *store.get_human_eval_session(s.id);
  EXPECT_EQ(read.models, s.models);
  EXPECT_EQ(read.seed, 9u);
  EXPECT_EQ(read.prompts, 3);
  EXPECT_EQ(read.items, 3);
  EXPECT_EQ(read.answers, 2);
  EXPECT_EQ(read.status, "generating");
  store.set_human_eval_status(s.id, "ready");
  EXPECT_TRUE(store.generating_human_eval_sessions().empty());
  EXPECT_EQ(store.human_eval_prompts(s.id)[2].prompt[0]["content"], "q2");

  // The first recorded order stands.
  using Shown = std::pair<std::string, std::string>;
  EXPECT_EQ(store.show_human_eval_item(s.id, "item-1", "ann", "tuned", "base"), Shown("tuned", "base"));
  EXPECT_EQ(store.show_human_eval_item(s.id, "item-1", "ann", "base", "tuned"), Shown("tuned", "base"));
  EXPECT_FALSE(store.human_eval_shown(s.id, "item-1", "bob"));

  EXPECT_FALSE(store.add_human_eval_rating(s.id, rating("item-1", "ann", "tuned", "base", "A")));
  EXPECT_FALSE(store.add_human_eval_rating(s.id, rating("item-2", "ann", "base", "tuned", "tie")));
  EXPECT_EQ(store.add_human_eval_rating(s.id, rating("item-1", "ann", "tuned", "base", "B")), "A");
  const auto ratings = store.human_eval_ratings(s.id);
  ASSERT_EQ(ratings.size(), 2u);
  EXPECT_EQ(ratings[0].item_id, "item-1");
  EXPECT_EQ(ratings[0].choice, "B");
  EXPECT_EQ(ratings[1].choice, "tie");
  EXPECT_EQ(store.get_human_eval_session(s.id)->ratings, 3);  // the replaced one is kept
  const HumanEvalSession second = stored_session(store, 1);
  const auto listed = store.list_human_eval_sessions("", 10);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, second.id);
  EXPECT_EQ(store.list_human_eval_sessions(second.id, 10)[0].id, s.id);
}

TEST(HumanEval, ADatabaseOfSchemaThreeGainsTheTables) {
  const std::string path = db_path();
  const std::string job_id = test::job_store_rolled_back(
      path, "DROP TABLE human_eval_sessions; DROP TABLE human_eval_prompts; DROP TABLE human_eval_answers; "
            "DROP TABLE human_eval_items; DROP TABLE human_eval_shown; DROP TABLE human_eval_ratings; "
            "PRAGMA user_version = 3");
  JobStore store(path);
  EXPECT_TRUE(store.get_job(job_id));
  EXPECT_EQ(store.get_human_eval_session(stored_session(store).id)->items, 3);
}

// Items 1–3 compare base (first) with tuned; raters ann and bob, in pair terms:
//   item-1: ann tuned, bob tuned    item-2: ann base, bob tie    item-3: ann both_bad, bob tuned
// Judgments: base 1 win, tuned 3, one tie, one both_bad. Win rate of base = (1 + 0.5) / 5 = 0.3.
// Bradley–Terry: wins base→tuned 1.5, tuned→base 3.5: scores ∝ (1.5, 3.5), geometric mean 1:
//   base √(1.5/3.5), tuned √(3.5/1.5).
// κ over three shared items, categories (first, second, tie, both_bad): ann (1, 0, 3), bob (1, 2, 1):
//   p_o = 1/3; ann's shares first 1/3, second 1/3, both_bad 1/3; bob's second 2/3, tie 1/3;
//   p_e = (1/3)(2/3) = 2/9; κ = (1/3 − 2/9) / (7/9) = 1/7.
TEST(HumanEval, ResultsCountByHand) {
  HumanEvalSession s;
  s.id = "heval-x";
  s.models = {"base", "tuned"};
  s.seed = 1;
  const auto items = plan_items(3, s.models, s.seed);
  // Shown orders mixed: "A" is sometimes base, sometimes tuned.
  const std::vector<HumanEvalRating> ratings = {
      rating("item-1", "ann", "base", "tuned", "B"),     rating("item-1", "bob", "tuned", "base", "A"),
      rating("item-2", "ann", "tuned", "base", "B"),     rating("item-2", "bob", "base", "tuned", "tie"),
      rating("item-3", "ann", "base", "tuned", "both_bad"), rating("item-3", "bob", "tuned", "base", "A")};
  const json r = human_eval_results(s, items, ratings);
  ASSERT_EQ(r["pairs"].size(), 1u);
  const json& pair = r["pairs"][0];
  EXPECT_EQ(pair["models"], json({"base", "tuned"}));
  EXPECT_EQ(pair["wins"], json({1, 3}));
  EXPECT_EQ(pair["ties"], 1);
  EXPECT_EQ(pair["both_bad"], 1);
  EXPECT_NEAR(pair["win_rate"].get<double>(), 0.3, 1e-12);
  EXPECT_LE(pair["interval"][0].get<double>(), 0.3);
  EXPECT_GE(pair["interval"][1].get<double>(), 0.3);
  const json& bt = r["bradley_terry"];
  EXPECT_EQ(bt["comparisons"], 5);
  EXPECT_NEAR(bt["models"][0]["score"].get<double>(), std::sqrt(1.5 / 3.5), 1e-9);
  EXPECT_NEAR(bt["models"][1]["score"].get<double>(), std::sqrt(3.5 / 1.5), 1e-9);
  const json& agreement = r["agreement"];
  ASSERT_EQ(agreement["pairs"].size(), 1u);
  EXPECT_EQ(agreement["pairs"][0]["raters"], json({"ann", "bob"}));
  EXPECT_EQ(agreement["pairs"][0]["shared_items"], 3);
  EXPECT_NEAR(agreement["pairs"][0]["kappa"].get<double>(), 1.0 / 7, 1e-12);
  EXPECT_NEAR(agreement["mean_kappa"].get<double>(), 1.0 / 7, 1e-12);
}

TEST(HumanEval, ExportWritesChosenPairsAndCountsTheRest) {
  const std::vector<HumanEvalPrompt> prompts = {{0, 1, json::array({{{"role", "user"}, {"content", "q0"}}})},
                                                {1, 2, "raw q1"}};
  const std::vector<HumanEvalAnswer> answers = {
      {0, "base", "b0", "stop"}, {0, "tuned", "t0", "stop"}, {1, "base", "b1", "stop"}, {1, "tuned", "t1", "stop"}};
  const auto items = plan_items(2, {"base", "tuned"}, 0);
  const FeedbackDataset d = human_eval_dataset(
      prompts, answers, items,
      {rating("item-1", "ann", "tuned", "base", "B"), rating("item-1", "bob", "base", "tuned", "tie"),
       rating("item-1", "cy", "base", "tuned", "both_bad"), rating("item-2", "ann", "base", "tuned", "A")});
  ASSERT_EQ(d.lines.size(), 1u);
  const json line = json::parse(d.lines[0]);
  EXPECT_EQ(line["input"]["messages"][0]["content"], "q0");
  EXPECT_EQ(line["preferred_output"][0]["content"], "b0");  // ann chose B, which was base
  EXPECT_EQ(line["non_preferred_output"][0]["content"], "t0");
  EXPECT_EQ(d.written, (Tally{{"ratings that chose A or B", 1}}));
  ASSERT_EQ(d.skipped.size(), 3u);
  EXPECT_NE(d.skipped[0].first.find("ties"), std::string::npos);
  EXPECT_NE(d.skipped[1].first.find("both_bad"), std::string::npos);
  EXPECT_NE(d.skipped[2].first.find("raw-text"), std::string::npos);
}

TEST(HumanEval, TheExportCommandWritesTheSessionsPairs) {
  const std::string dir = test::this_test_scratch("human_eval_export_");
  std::string id;
  {
    JobStore store(dir + "/whet.sqlite");
    id = stored_session(store, 2).id;
    for (int p = 0; p < 2; ++p)
      for (const std::string model : {"base", "tuned"})
        store.add_human_eval_answer(id, {p, model, model + std::to_string(p), "stop"});
    store.add_human_eval_rating(id, rating("item-1", "ann", "tuned", "base", "A"));
    store.add_human_eval_rating(id, rating("item-2", "ann", "base", "tuned", "tie"));
    store.add_human_eval_rating(id, rating("item-2", "bob", "base", "tuned", "both_bad"));
  }
  const std::string out = dir + "/rated.jsonl";
  const auto export_with = [&](const std::string& flags) {
    return test::run_whet("feedback export --data-dir " + dir + " --output " + out + " " + flags);
  };
  const test::RunResult not_ready = export_with("--human-eval " + id);
  EXPECT_EQ(not_ready.exit_code, 1);
  EXPECT_NE(not_ready.err.find("is generating, not ready"), std::string::npos) << not_ready.err;
  JobStore(dir + "/whet.sqlite").set_human_eval_status(id, "ready");

  const test::RunResult r = export_with("--human-eval " + id);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream file(out);
  const std::string written((std::istreambuf_iterator<char>(file)), {});
  EXPECT_EQ(written, json({{"input", {{"messages", {{{"role", "user"}, {"content", "q0"}}}}}},
                           {"preferred_output", {{{"role", "assistant"}, {"content", "tuned0"}}}},
                           {"non_preferred_output", {{{"role", "assistant"}, {"content", "base0"}}}}})
                         .dump() + "\n");
  for (const std::string part : {"lines written: 1", "ratings skipped: 2", "  1 ties", "  1 both_bad"})
    EXPECT_NE(r.err.find(part), std::string::npos) << part << "\n" << r.err;

  const test::RunResult kto = export_with("--human-eval " + id + " --format kto");
  EXPECT_EQ(kto.exit_code, 1);
  EXPECT_NE(kto.err.find("preference pairs only"), std::string::npos) << kto.err;
  const test::RunResult unknown = export_with("--human-eval heval-none");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no human evaluation session 'heval-none'"), std::string::npos) << unknown.err;
  const test::RunResult no_format = export_with("");
  EXPECT_EQ(no_format.exit_code, 1);
  EXPECT_NE(no_format.err.find("--format"), std::string::npos) << no_format.err;
}

}  // namespace
}  // namespace whet::serve
