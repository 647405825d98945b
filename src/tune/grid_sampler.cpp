#include "tune/grid_sampler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace whet::tune {
namespace {

std::vector<double> values_of(const Parameter& parameter) {
  const Distribution& d = parameter.distribution;
  if (d.kind == Distribution::Kind::Categorical) {
    std::vector<double> indexes(d.choices.size());
    for (std::size_t i = 0; i < indexes.size(); ++i) indexes[i] = double(i);
    return indexes;
  }
  if (!parameter.grid.empty()) return parameter.grid;
  if (d.step == 0) {
    fail(parameter.where, "{}: the grid sampler needs a step or a grid list for a float", parameter.name);
  }
  const auto steps = static_cast<std::size_t>(std::llround((d.high - d.low) / d.step));
  if (steps >= kMaxGridPoints) {
    fail(parameter.where, "{}: {} steps from low to high; the grid takes at most {} points (give a grid list)",
         parameter.name, steps, kMaxGridPoints);
  }
  std::vector<double> values;
  for (std::size_t k = 0; k <= steps; ++k) values.push_back(d.low + double(k) * d.step);
  return values;
}

bool taken(const Point& point, std::span<const Trial> history) {
  return std::any_of(history.begin(), history.end(), [&](const Trial& t) {
    return t.state != TrialState::Waiting && t.params == point;
  });
}

}  // namespace

std::vector<Point> grid_points(const SearchSpace& space) {
  std::vector<Point> points = {Point{}};
  for (const Parameter& parameter : space.parameters) {
    const std::vector<double> values = values_of(parameter);
    std::vector<Point> grown;
    for (const Point& point : points) {
      if (!is_active(parameter, point)) {
        grown.push_back(point);
        continue;
      }
      for (double value : values) {
        grown.push_back(point);
        grown.back()[parameter.name] = value;
      }
      if (grown.size() > kMaxGridPoints) {
        fail(space.file, "the grid has more than {} points; give the parameters fewer values", kMaxGridPoints);
      }
    }
    points = std::move(grown);
  }
  return points;
}

std::map<std::string, double> GridSampler::sample(const SearchSpace& space, std::span<const Trial> history, Direction,
                                                  int64_t number) const {
  const std::vector<Point> points = grid_points(space);
  const std::vector<Trial> others = other_trials(history, number);
  const auto free = std::find_if(points.begin(), points.end(), [&](const Point& p) { return !taken(p, others); });
  if (free != points.end()) return *free;
  return points[static_cast<std::size_t>(number) % points.size()];
}

}  // namespace whet::tune
