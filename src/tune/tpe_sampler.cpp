#include "tune/tpe_sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "core/error.h"
#include "tune/parzen_estimator.h"

namespace whet::tune {
namespace {

using Group = std::vector<const Parameter*>;

std::vector<const Trial*> in_state(std::span<const Trial> history, TrialState state) {
  std::vector<const Trial*> trials;
  for (const Trial& t : history) {
    if (t.state == state) trials.push_back(&t);
  }
  std::sort(trials.begin(), trials.end(), [](const Trial* a, const Trial* b) { return a->number < b->number; });
  return trials;
}

// The order of pruned trials, best first: the later last step, then the
// better value there (NaN worst); a trial that reported nothing comes last.
std::pair<double, double> pruned_rank(const Trial& t, Direction direction) {
  if (t.intermediate.empty()) return {1, 0};
  const auto& [step, value] = *t.intermediate.rbegin();
  if (std::isnan(value)) return {-double(step), std::numeric_limits<double>::infinity()};
  return {-double(step), direction == Direction::Minimize ? value : -value};
}

Group* group_under(std::vector<Group>& groups, const std::vector<Condition>& when) {
  for (Group& g : groups) {
    if (g.front()->when == when) return &g;
  }
  return nullptr;
}

std::vector<Group> groups_of(const SearchSpace& space, bool multivariate) {
  std::vector<Group> groups;
  for (const Parameter& p : space.parameters) {
    Group* joint = multivariate ? group_under(groups, p.when) : nullptr;
    if (joint) {
      joint->push_back(&p);
    } else {
      groups.push_back({&p});
    }
  }
  return groups;
}

// The values of `group` in each trial where all of it was active, with the
// space's distributions (a trial of an earlier version of the space may differ).
std::vector<std::vector<double>> observations(const std::vector<const Trial*>& trials, const Group& group) {
  std::vector<std::vector<double>> rows;
  for (const Trial* t : trials) {
    std::vector<double> row;
    for (const Parameter* p : group) {
      const auto value = t->params.find(p->name);
      const auto distribution = t->distributions.find(p->name);
      const bool same = distribution == t->distributions.end() || distribution->second == p->distribution;
      if (value == t->params.end() || !same) break;
      row.push_back(value->second);
    }
    if (row.size() == group.size()) rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

TpeSampler::TpeSampler(uint64_t seed, const TpeOptions& options) : seed_(seed), options_(options), random_(seed) {
  WHET_ASSERT(options.n_startup_trials >= 0 && options.n_ei_candidates >= 1 && options.prior_weight > 0);
}

std::size_t default_gamma(std::size_t finished) { return std::min<std::size_t>((finished + 9) / 10, 25); }

TrialSplit split_trials(std::span<const Trial> history, Direction direction, std::size_t n_below) {
  std::vector<const Trial*> complete = in_state(history, TrialState::Complete);
  std::stable_sort(complete.begin(), complete.end(), [&](const Trial* a, const Trial* b) {
    WHET_ASSERT(a->value && b->value);
    return direction == Direction::Minimize ? *a->value < *b->value : *a->value > *b->value;
  });
  std::vector<const Trial*> pruned = in_state(history, TrialState::Pruned);
  std::stable_sort(pruned.begin(), pruned.end(), [&](const Trial* a, const Trial* b) {
    return pruned_rank(*a, direction) < pruned_rank(*b, direction);
  });
  TrialSplit split;
  for (const std::vector<const Trial*>* ranked : {&complete, &pruned}) {
    for (const Trial* t : *ranked) (split.below.size() < n_below ? split.below : split.above).push_back(t);
  }
  for (const Trial* t : in_state(history, TrialState::Running)) split.above.push_back(t);
  for (std::vector<const Trial*>* side : {&split.below, &split.above}) {
    std::sort(side->begin(), side->end(), [](const Trial* a, const Trial* b) { return a->number < b->number; });
  }
  return split;
}

std::map<std::string, double> TpeSampler::sample(const SearchSpace& space, std::span<const Trial> study,
                                                 Direction direction, int64_t number) const {
  const std::vector<Trial> history = other_trials(study, number);
  const auto finished = static_cast<std::size_t>(std::count_if(history.begin(), history.end(), [](const Trial& t) {
    return t.state == TrialState::Complete || t.state == TrialState::Pruned;
  }));
  if (finished < static_cast<std::size_t>(options_.n_startup_trials)) {
    return random_.sample(space, history, direction, number);
  }
  const TrialSplit split = split_trials(history, direction, default_gamma(finished));
  std::map<std::string, double> values;
  for (const Group& group : groups_of(space, options_.multivariate)) {
    if (!is_active(*group.front(), values)) continue;
    const ParzenEstimator below(group, observations(split.below, group), options_.prior_weight);
    const ParzenEstimator above(group, observations(split.above, group), options_.prior_weight);
    std::mt19937_64 rng = trial_rng(seed_, number, "tpe " + group.front()->name);
    std::vector<double> best;
    double best_score = 0;
    for (int i = 0; i < options_.n_ei_candidates; ++i) {
      std::vector<double> candidate = below.sample(rng);
      const double score = below.log_pdf(candidate) - above.log_pdf(candidate);  // log l(x)/g(x)
      if (best.empty() || score > best_score) {
        best = std::move(candidate);
        best_score = score;
      }
    }
    for (std::size_t i = 0; i < group.size(); ++i) values[group[i]->name] = best[i];
  }
  return values;
}

}  // namespace whet::tune
