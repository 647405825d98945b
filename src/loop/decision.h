#pragma once
// The gate's rule, a pure function of the evidence: a challenger is promoted
// only when it passed the forgetting gate, its counterfactual gap did not grow
// beyond the limit, and it beat the champion on the held-out task by more than
// min_improvement with a paired bootstrap p-value below the significance level.
// The reason names the first rule that failed, or what the challenger won by.
#include <string>

#include "loop/challenger_eval.h"
#include "loop/watch_config.h"

namespace whet::loop {

struct Verdict {
  bool promote = false;
  std::string reason;  // "forgetting gate failed: ...", "not better than the champion: accuracy 0.61 -> 0.62 ..."
};

Verdict judge(const Evaluation& evaluation, const WatchConfig& config);

}  // namespace whet::loop
