#pragma once
// What a human evaluation session's ratings say (GET .../results): per pair of
// models the win rate with a bootstrap interval over items, Bradley–Terry
// strengths across all models, and Cohen's κ between each two raters over the
// items both rated. The numbers come from eval/rating_stats; this file counts.
#include <nlohmann/json.hpp>
#include <vector>

#include "serve/human_eval.h"

namespace whet::serve {

inline constexpr double kResultsLevel = 0.95;
inline constexpr int kResultsResamples = 1000;

// `ratings`: each rater's newest rating of each item (JobStore::human_eval_ratings).
nlohmann::json human_eval_results(const HumanEvalSession& session, const std::vector<HumanEvalItem>& items,
                                  const std::vector<HumanEvalRating>& ratings);

}  // namespace whet::serve
