// The optimisation history and slice plots (tune/study_plots.h).
#include "tune/study_plots.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "tune/param_values.h"
#include "tune/svg_plot.h"
#include "tune/trial_text.h"

namespace whet::tune {
namespace {

std::optional<double> finite_value(const Trial& trial) {
  if (trial.value && std::isfinite(*trial.value)) return trial.value;
  return std::nullopt;
}

std::string_view state_colour(TrialState state) {
  switch (state) {
    case TrialState::Complete: return kCompleteColour;
    case TrialState::Pruned: return kPrunedColour;
    case TrialState::Fail: return kFailedColour;
    default: return kRunningColour;
  }
}

// "trial 3, pruned: val_loss 1.25; learning_rate=0.001; pruned at step 4".
std::string tooltip(const Trial& trial, const Objective& objective) {
  std::string out = fmt::format("trial {}, {}", trial.number, state_text(trial.state));
  if (trial.value) out += fmt::format(": {} {}", objective.metric, value_text(trial.value));
  if (!trial.params.empty()) out += "; " + params_text(trial);
  if (!trial.note.empty()) out += "; " + trial.note;
  return out;
}

// The objective's axis over the values drawn; [0, 1] while there is none.
Axis value_axis(const std::vector<double>& values) {
  if (values.empty()) return linear_axis(0, 1);
  const auto [low, high] = std::minmax_element(values.begin(), values.end());
  return linear_axis(*low, *high);
}

// The best value so far among the complete trials, as a line of steps: level
// from one complete trial to the next, down (or up) where a trial betters it.
std::vector<Point> best_so_far(const SvgPlot& plot, const std::vector<Trial>& trials, Direction direction) {
  std::vector<Point> line;
  std::optional<double> best;
  for (const Trial& t : trials) {
    const std::optional<double> value = finite_value(t);
    if (t.state != TrialState::Complete || !value) continue;
    if (best) line.push_back(plot.at(double(t.number), *best));
    if (best && (direction == Direction::Minimize ? *value >= *best : *value <= *best)) continue;
    best = value;
    line.push_back(plot.at(double(t.number), *best));
  }
  return line;
}

std::string choice_label(const nlohmann::json& choice) {
  return choice.is_string() ? choice.get<std::string>() : choice.dump();
}

Axis parameter_axis(const Distribution& d) {
  if (d.kind == Distribution::Kind::Categorical) {
    std::vector<std::string> labels;
    for (const nlohmann::json& choice : d.choices) labels.push_back(choice_label(choice));
    return band_axis(std::move(labels));
  }
  return d.log ? log_axis(d.low, d.high) : linear_axis(d.low, d.high, d.kind == Distribution::Kind::Int);
}

}  // namespace

std::string trial_colour(int64_t number, int64_t last) {
  constexpr int kFirst[3] = {0xc6, 0xdb, 0xef}, kLast[3] = {0x08, 0x30, 0x6b};
  const double t = last > 0 ? std::clamp(double(number) / double(last), 0.0, 1.0) : 1.0;
  int rgb[3];
  for (int i = 0; i < 3; ++i) rgb[i] = int(std::lround(kFirst[i] + t * (kLast[i] - kFirst[i])));
  return fmt::format("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
}

std::string optimisation_history_svg(const std::vector<Trial>& trials, const Objective& objective) {
  std::vector<double> values;
  for (const Trial& t : trials)
    if (const auto value = finite_value(t)) values.push_back(*value);
  const double last = trials.empty() ? 0 : double(trials.back().number);
  SvgPlot plot("Optimisation history", linear_axis(0, last, true), "trial", value_axis(values), objective.metric);
  if (trials.empty()) plot.message("no trial yet");
  for (const Trial& t : trials) {
    const std::optional<double> value = finite_value(t);
    const double x = double(t.number);
    const Point where = value ? plot.at(x, *value) : Point{plot.x_pixel(x), SvgPlot::frame_bottom()};
    plot.dot(where, state_colour(t.state), tooltip(t, objective));
  }
  plot.line(best_so_far(plot, trials, objective.direction), kBestColour);
  plot.legend({{std::string(kCompleteColour), "complete"},
               {std::string(kPrunedColour), "pruned"},
               {std::string(kFailedColour), "failed"},
               {std::string(kBestColour), "best so far"}});
  return plot.svg();
}

std::string slice_svg(const std::vector<Trial>& trials, const Parameter& parameter, const Objective& objective) {
  std::vector<const Trial*> drawn;
  std::vector<double> values;
  for (const Trial& t : trials)
    if (t.state == TrialState::Complete && finite_value(t) && t.params.contains(parameter.name)) {
      drawn.push_back(&t);
      values.push_back(*t.value);
    }
  SvgPlot plot("Slice: " + parameter.name, parameter_axis(parameter.distribution), parameter.name,
               value_axis(values), objective.metric);
  if (drawn.empty()) plot.message("no complete trial has searched it yet");
  const int64_t last = trials.empty() ? 0 : trials.back().number;
  for (const Trial* t : drawn)
    plot.dot(plot.at(t->params.at(parameter.name), *t->value), trial_colour(t->number, last), tooltip(*t, objective));
  plot.legend({{trial_colour(0, last), "trial 0"}, {trial_colour(last, last), fmt::format("trial {}", last)}});
  return plot.svg();
}

}  // namespace whet::tune
