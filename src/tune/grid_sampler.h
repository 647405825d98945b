#pragma once
// Grid search: every combination of the parameters' values, each tried once.
// A categorical's values are its choices; an int's and a stepped float's run
// from low to high by step, unless a `grid` list names them; a float needs
// one of the two. A parameter whose condition fails is absent from the points
// that fail it, so a conditional space has no repeated points.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "tune/sampler.h"

namespace whet::tune {

using Point = std::map<std::string, double>;  // internal values of the active parameters

// The points in order: the first parameter of the file varies slowest.
// whet::Error naming the parameter for a float with neither step nor grid, and
// the file for a grid over kMaxGridPoints.
std::vector<Point> grid_points(const SearchSpace& space);
inline constexpr std::size_t kMaxGridPoints = 100000;

// Trial `number` takes the first point in order that no trial of the history
// took (complete, pruned, failed or running; Optuna's rule); once every point
// is taken, point number mod size, again. In a study run one trial at a time,
// trial k takes point k, as with Optuna's GridSampler.
class GridSampler final : public Sampler {
 public:
  std::map<std::string, double> sample(const SearchSpace& space, std::span<const Trial> history, Direction direction,
                                       int64_t number) const override;
  std::optional<std::size_t> size(const SearchSpace& space) const override { return grid_points(space).size(); }
};

}  // namespace whet::tune
