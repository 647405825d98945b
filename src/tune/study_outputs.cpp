// best.yaml and report.md (tune/study_outputs.h).
#include "tune/study_outputs.h"

#include <fmt/format.h>

#include <array>

#include "core/atomic_file.h"
#include "train/train_config.h"
#include "tune/best_trial.h"
#include "tune/cross_validation.h"
#include "tune/param_importance.h"
#include "tune/param_values.h"
#include "tune/trial_run.h"

namespace whet::tune {
namespace {

constexpr std::array<std::string_view, 5> kStateNames = {"running", "complete", "pruned", "failed", "waiting"};

std::string_view state_text(TrialState state) { return kStateNames[std::size_t(state)]; }

std::string direction_text(Direction d) { return d == Direction::Minimize ? "minimise" : "maximise"; }

std::string value_text(const std::optional<double>& value) { return value ? fmt::format("{:.6g}", *value) : ""; }

std::string objective_text(const Objective& objective) {
  const std::string text = direction_text(objective.direction) + " " + objective.metric;
  if (objective.folds == 0) return text;
  return text + fmt::format(", the mean over {} folds of train_data (cross-validation; ± is the folds' sample "
                            "standard deviation)",
                            objective.folds);
}

// A table cell: a note may hold '|' or line breaks.
std::string cell(std::string text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : c == '\n' ? std::string(" ") : std::string(1, c);
  return out;
}

std::string trials_table(const std::vector<Trial>& trials, const Objective& objective) {
  std::string out =
      fmt::format("| trial | state | parameters | {} | note |\n|---|---|---|---|---|\n", objective.metric);
  for (const Trial& t : trials)
    out += fmt::format("| {} | {} | {} | {} | {} |\n", t.number, state_text(t.state), cell(params_text(t)),
                       value_with_folds_text(t), cell(t.note));
  return out;
}

std::string importance_section(const std::vector<Trial>& trials, const SearchSpace& space) {
  const std::map<std::string, double> shares = parameter_importance(space, trials);
  std::string out = "## Parameter importance\n\n";
  if (shares.empty()) return out + "Not estimated: it needs at least 3 complete trials whose values differ.\n";
  out += "The share of the spread of the complete trials' values that each parameter explains alone "
         "(one-way η², scaled to sum to 1; a hint, not a measurement, with few trials):\n\n"
         "| parameter | importance |\n|---|---|\n";
  for (const auto& [name, share] : shares) out += fmt::format("| {} | {:.2f} |\n", name, share);
  return out;
}

}  // namespace

void write_best_config(StudyStore& store, const std::string& study_dir, const Objective& objective) {
  const std::optional<Trial> best = best_trial(store.trials(), objective.direction);
  if (!best) return;
  const auto attrs = store.trial_attrs(best->number);
  const auto config = attrs.find("config");
  if (config == attrs.end() || !config->second.is_string()) return;
  const std::string path = study_dir + "/best.yaml";
  write_file_atomic(path, config->second.get<std::string>());
  const TrainConfig resolved = load_train_config(path, {"output_dir=" + nlohmann::json(study_dir + "/best").dump()});
  write_file_atomic(path, fmt::format("# whet tune: trial {} of {}, {} {}\n{}", best->number, study_dir,
                                      objective.metric, value_text(best->value), dump_train_config(resolved)));
}

std::string study_report(const std::vector<Trial>& trials, const SearchSpace& space, const Objective& objective,
                         const std::string& study_dir) {
  std::array<int, kStateNames.size()> counts{};
  for (const Trial& t : trials) ++counts[std::size_t(t.state)];
  std::string out = fmt::format("# Study {}\n\nObjective: {}. Trials: {} ({} complete, {} pruned, {} failed).\n\n",
                                study_dir, objective_text(objective), trials.size(), counts[1], counts[2], counts[3]);
  if (const std::optional<Trial> best = best_trial(trials, objective.direction))
    out += fmt::format("## Best trial\n\nTrial {}: {} {} with {}. Its config: best.yaml; its run: {}.\n\n",
                       best->number, objective.metric, value_with_folds_text(*best), params_text(*best),
                       trial_dir(study_dir, best->number));
  out += "## Trials\n\n" + trials_table(trials, objective) + "\n";
  return out + importance_section(trials, space);
}

void write_study_outputs(StudyStore& store, const std::string& study_dir, const SearchSpace& space,
                         const Objective& objective) {
  write_best_config(store, study_dir, objective);
  write_file_atomic(study_dir + "/report.md", study_report(store.trials(), space, objective, study_dir));
}

}  // namespace whet::tune
