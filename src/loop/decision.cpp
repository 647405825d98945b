#include "loop/decision.h"

#include <fmt/format.h>

namespace whet::loop {

namespace {

std::string comparison_text(const MetricComparison& c) {
  return fmt::format("{} {:.4g} -> {:.4g} ({}{:.4g} better, p {:.3f}, {} items)", c.metric, c.champion, c.challenger,
                     c.improvement >= 0 ? "+" : "", c.improvement, c.p_value, c.items);
}

}  // namespace

Verdict judge(const Evaluation& e, const WatchConfig& config) {
  if (e.forgetting.judged && !e.forgetting.passed) return {false, "forgetting gate failed: " + e.forgetting.reason};
  if (e.bias && e.bias->failed)
    return {false, fmt::format("bias check failed: counterfactual gap {:.4g} -> {:.4g} ({:+.1f}%, limit +{:.0f}%, p {:.3f})",
                               e.bias->champion, e.bias->challenger, 100 * e.bias->rise, 100 * e.bias->limit,
                               e.bias->p_worse)};
  const MetricComparison& c = e.comparison;
  if (c.improvement <= config.min_improvement)
    return {false, fmt::format("not better than the champion by more than {:.4g}: {}", config.min_improvement,
                               comparison_text(c))};
  if (c.p_value >= config.significance)
    return {false, fmt::format("not significantly better than the champion (p must be below {:.3g}): {}",
                               config.significance, comparison_text(c))};
  return {true, fmt::format("better than {}: {}", e.champion, comparison_text(c))};
}

}  // namespace whet::loop
