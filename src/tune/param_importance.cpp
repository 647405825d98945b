// Parameter importance as η² of one-way groupings (tune/param_importance.h).
#include "tune/param_importance.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace whet::tune {
namespace {

constexpr std::size_t kMinTrials = 3;
constexpr std::size_t kMaxBins = 4;

double mean_of(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return sum / double(values.size());
}

// Sum of squares of the values around their mean.
double spread(const std::vector<double>& values) {
  const double mean = mean_of(values);
  double sum = 0;
  for (double v : values) sum += (v - mean) * (v - mean);
  return sum;
}

// (the parameter's internal value, the objective) of each complete trial that searched it.
std::vector<std::pair<double, double>> observations(const std::string& name, const std::vector<Trial>& trials) {
  std::vector<std::pair<double, double>> out;
  for (const Trial& t : trials)
    if (t.state == TrialState::Complete && t.value && std::isfinite(*t.value) && t.params.contains(name))
      out.emplace_back(t.params.at(name), *t.value);
  return out;
}

// The objective's values in groups: by choice, or by rank into bins of equal count.
std::vector<std::vector<double>> groups_of(const Distribution& distribution,
                                           std::vector<std::pair<double, double>> observed) {
  std::sort(observed.begin(), observed.end());
  std::map<double, std::vector<double>> groups;
  const std::size_t bins = std::min(kMaxBins, observed.size() / 2);
  for (std::size_t i = 0; i < observed.size(); ++i) {
    const double key = distribution.kind == Distribution::Kind::Categorical ? observed[i].first
                                                                            : double(i * bins / observed.size());
    groups[key].push_back(observed[i].second);
  }
  std::vector<std::vector<double>> out;
  for (auto& [key, values] : groups) out.push_back(std::move(values));
  return out;
}

// η²: the share of the values' spread between the groups' means.
double explained_share(const std::vector<std::vector<double>>& groups) {
  std::vector<double> all;
  for (const auto& g : groups) all.insert(all.end(), g.begin(), g.end());
  const double total = spread(all);
  if (total <= 0) return 0;
  const double mean = mean_of(all);
  double between = 0;
  for (const auto& g : groups) between += double(g.size()) * std::pow(mean_of(g) - mean, 2);
  return between / total;
}

}  // namespace

std::map<std::string, double> parameter_importance(const SearchSpace& space, const std::vector<Trial>& trials) {
  std::map<std::string, double> shares;
  double sum = 0;
  for (const Parameter& p : space.parameters) {
    const auto observed = observations(p.name, trials);
    if (observed.size() < kMinTrials) continue;
    sum += shares[p.name] = explained_share(groups_of(p.distribution, observed));
  }
  if (sum <= 0) return {};
  for (auto& [name, share] : shares) share /= sum;
  return shares;
}

}  // namespace whet::tune
