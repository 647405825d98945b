#include "serve/human_eval_results.h"

#include <map>
#include <set>

#include "core/error.h"
#include "eval/rating_stats.h"

namespace whet::serve {

namespace {

using nlohmann::json;

// Judgment categories in a pair's terms, as pair_judgment numbers them.
const std::vector<std::string> kCategories = {"first_better", "second_better", "tie", "both_bad"};

json or_null(const std::optional<double>& value) { return value ? json(*value) : json(nullptr); }

struct Counted {
  std::map<std::string, const HumanEvalItem*> items;           // by id
  std::map<std::string, std::map<std::string, int>> judgments;  // item id -> rater -> pair_judgment
  std::set<std::string> raters;
};

Counted count(const std::vector<HumanEvalItem>& items, const std::vector<HumanEvalRating>& ratings) {
  Counted c;
  for (const HumanEvalItem& item : items) c.items[item.id] = &item;
  for (const HumanEvalRating& r : ratings) {
    const auto it = c.items.find(r.item_id);
    WHET_ASSERT(it != c.items.end());
    c.judgments[r.item_id][r.rater] = pair_judgment(r, *it->second);
    c.raters.insert(r.rater);
  }
  return c;
}

PairJudgments add(PairJudgments j, int judgment) {
  if (judgment == 0) ++j.first;
  else if (judgment == 1) ++j.second;
  else if (judgment == 2) ++j.ties;
  else ++j.both_bad;
  return j;
}

// One entry per pair of models that has items, in the session's model order.
json pair_results(const HumanEvalSession& session, const std::vector<HumanEvalItem>& items, const Counted& c) {
  json out = json::array();
  for (size_t a = 0; a < session.models.size(); ++a)
    for (size_t b = a + 1; b < session.models.size(); ++b) {
      std::vector<PairJudgments> per_item;
      int64_t pair_items = 0, rated_items = 0;
      for (const HumanEvalItem& item : items) {
        // Items name the pair in the session's order, so `first` is model a.
        if (item.first != session.models[a] || item.second != session.models[b]) continue;
        ++pair_items;
        const auto found = c.judgments.find(item.id);
        if (found == c.judgments.end()) continue;
        ++rated_items;
        PairJudgments j;
        for (const auto& [rater, judgment] : found->second) j = add(j, judgment);
        per_item.push_back(j);
      }
      if (pair_items == 0) continue;
      const WinRate w = win_rate(per_item, kResultsLevel, kResultsResamples, session.seed);
      const int64_t judged = w.first + w.second + w.ties + w.both_bad;
      out.push_back({{"models", {session.models[a], session.models[b]}},
                     {"items", pair_items},
                     {"rated_items", rated_items},
                     {"ratings", judged},
                     {"wins", {w.first, w.second}},
                     {"ties", w.ties},
                     {"both_bad", w.both_bad},
                     {"both_bad_share", judged ? json(double(w.both_bad) / double(judged)) : json(nullptr)},
                     {"win_rate", or_null(w.rate)},
                     {"interval", w.interval ? json{w.interval->low, w.interval->high} : json(nullptr)}});
    }
  return out;
}

json bradley_terry_results(const HumanEvalSession& session, const std::vector<HumanEvalItem>& items, const Counted& c) {
  const size_t n = session.models.size();
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < n; ++i) index[session.models[i]] = i;
  std::vector<std::vector<double>> wins(n, std::vector<double>(n, 0));
  int64_t comparisons = 0;
  for (const HumanEvalItem& item : items) {
    const auto found = c.judgments.find(item.id);
    if (found == c.judgments.end()) continue;
    const size_t i = index.at(item.first), j = index.at(item.second);
    for (const auto& [rater, judgment] : found->second) {
      if (judgment == 3) continue;  // both bad: neither answer won
      ++comparisons;
      wins[i][j] += judgment == 0 ? 1 : judgment == 2 ? 0.5 : 0;
      wins[j][i] += judgment == 1 ? 1 : judgment == 2 ? 0.5 : 0;
    }
  }
  const BradleyTerry bt = bradley_terry(session.models, wins);
  json models = json::array();
  for (size_t i = 0; i < n; ++i) {
    json m = {{"model", session.models[i]}, {"comparisons", bt.comparisons[i]}};
    m["score"] = bt.problem.empty() ? json(bt.scores[i]) : json(nullptr);
    m["log_score"] = bt.problem.empty() ? json(bt.log_scores[i]) : json(nullptr);
    models.push_back(m);
  }
  return {{"normalisation", "scores have geometric mean 1 (log-scores sum to 0); P(i beats j) = s_i / (s_i + s_j)"},
          {"ties", "half a win to each model; both_bad ratings are left out"},
          {"comparisons", comparisons},
          {"models", models},
          {"iterations", bt.iterations},
          {"problem", bt.problem.empty() ? json(nullptr) : json(bt.problem)}};
}

json agreement_results(const Counted& c) {
  const std::vector<std::string> raters(c.raters.begin(), c.raters.end());
  json pairs = json::array();
  double kappa_sum = 0;
  int kappas = 0;
  for (size_t a = 0; a < raters.size(); ++a)
    for (size_t b = a + 1; b < raters.size(); ++b) {
      std::vector<std::vector<int64_t>> table(kCategories.size(), std::vector<int64_t>(kCategories.size(), 0));
      for (const auto& [item, by_rater] : c.judgments) {
        const auto first = by_rater.find(raters[a]), second = by_rater.find(raters[b]);
        if (first != by_rater.end() && second != by_rater.end()) ++table[size_t(first->second)][size_t(second->second)];
      }
      const Kappa k = cohen_kappa(table);
      if (k.kappa) kappa_sum += *k.kappa, ++kappas;
      pairs.push_back({{"raters", {raters[a], raters[b]}},
                       {"shared_items", k.items},
                       {"observed_agreement", k.items ? json(k.observed) : json(nullptr)},
                       {"kappa", or_null(k.kappa)}});
    }
  return {{"categories", kCategories},
          {"pairs", pairs},
          {"mean_kappa", kappas ? json(kappa_sum / kappas) : json(nullptr)}};
}

}  // namespace

json human_eval_results(const HumanEvalSession& session, const std::vector<HumanEvalItem>& items,
                        const std::vector<HumanEvalRating>& ratings) {
  const Counted c = count(items, ratings);
  return {{"object", "human_eval.results"},
          {"session_id", session.id},
          {"models", session.models},
          {"raters", c.raters},
          {"ratings", ratings.size()},
          {"bootstrap", {{"level", kResultsLevel}, {"resamples", kResultsResamples}, {"seed", session.seed},
                         {"over", "items"}}},
          {"pairs", pair_results(session, items, c)},
          {"bradley_terry", bradley_terry_results(session, items, c)},
          {"agreement", agreement_results(c)}};
}

}  // namespace whet::serve
