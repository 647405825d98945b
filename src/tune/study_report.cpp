// report.md and report.html from one list of blocks (tune/study_report.h).
#include "tune/study_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "io/document.h"
#include "tune/best_trial.h"
#include "tune/cross_validation.h"
#include "tune/param_importance.h"
#include "tune/param_values.h"
#include "tune/study_plots.h"
#include "tune/trial_run.h"
#include "tune/trial_text.h"

namespace whet::tune {
namespace {

enum class Form { Markdown, Html };

std::string objective_text(const Objective& objective) {
  const std::string text = fmt::format("{} {}", direction_text(objective.direction), objective.metric);
  if (objective.folds == 0) return text;
  return text + fmt::format(", the mean over {} folds of train_data (cross-validation; ± is the folds' sample "
                            "standard deviation)",
                            objective.folds);
}

Paragraph summary(const std::vector<Trial>& trials, const Objective& objective) {
  std::array<int, 5> counts{};
  for (const Trial& t : trials) ++counts[std::size_t(t.state)];
  return {fmt::format("Objective: {}. Trials: {} ({} complete, {} pruned, {} failed).", objective_text(objective),
                      trials.size(),
                      counts[std::size_t(TrialState::Complete)], counts[std::size_t(TrialState::Pruned)],
                      counts[std::size_t(TrialState::Fail)])};
}

void add_best_trial(Document& report, const std::vector<Trial>& trials, const Objective& objective,
                    const std::string& study_dir) {
  const std::optional<Trial> best = best_trial(trials, objective.direction);
  if (!best) return;
  report.blocks.push_back(Heading{"Best trial"});
  report.blocks.push_back(Paragraph{fmt::format("Trial {}: {} {} with {}. Its config: best.yaml; its run: {}.",
                                                best->number, objective.metric, value_with_folds_text(*best),
                                                params_text(*best), trial_dir(study_dir, best->number))});
}

void add_plots(Document& report, const std::vector<Trial>& trials, const SearchSpace& space,
               const Objective& objective) {
  report.blocks.push_back(Heading{"Optimisation history"});
  report.blocks.push_back(Figure{optimisation_history_svg(trials, objective)});
  report.blocks.push_back(Heading{"Slices"});
  report.blocks.push_back(Paragraph{fmt::format("The complete trials' {} against each parameter.", objective.metric)});
  for (const Parameter& p : space.parameters) report.blocks.push_back(Figure{slice_svg(trials, p, objective)});
}

// A table by name in Markdown; bars, the largest first, in HTML.
void add_importance(Document& report, const std::vector<Trial>& trials, const SearchSpace& space, Form form) {
  report.blocks.push_back(Heading{"Parameter importance"});
  const std::map<std::string, double> shares = parameter_importance(space, trials);
  if (shares.empty()) {
    report.blocks.push_back(Paragraph{"Not estimated: it needs at least 3 complete trials whose values differ."});
    return;
  }
  report.blocks.push_back(Paragraph{
      "The share of the spread of the complete trials' values that each parameter explains alone "
      "(one-way η², scaled to sum to 1; a hint, not a measurement, with few trials):"});
  if (form == Form::Markdown) {
    Table table{{"parameter", "importance"}, {}};
    for (const auto& [name, share] : shares) table.rows.push_back({name, fmt::format("{:.2f}", share)});
    report.blocks.push_back(std::move(table));
    return;
  }
  std::vector<std::pair<std::string, double>> sorted(shares.begin(), shares.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  BarChart bars{"Parameter importance", {}, {}};
  for (const auto& [name, share] : sorted) {
    bars.labels.push_back(name);
    bars.values.push_back(share);
  }
  report.blocks.push_back(std::move(bars));
}

void add_trials(Document& report, const std::vector<Trial>& trials, const Objective& objective) {
  report.blocks.push_back(Heading{"Trials"});
  Table table{{"trial", "state", "parameters", objective.metric, "note"}, {}};
  for (const Trial& t : trials)
    table.rows.push_back({std::to_string(t.number), std::string(state_text(t.state)), params_text(t),
                          value_with_folds_text(t), t.note});
  report.blocks.push_back(std::move(table));
}

Document study_document(const std::vector<Trial>& trials, const SearchSpace& space, const Objective& objective,
                        const std::string& study_dir, Form form) {
  Document report{fmt::format("Study {}", study_dir), {summary(trials, objective)}};
  if (form == Form::Markdown)
    report.blocks.push_back(Paragraph{
        "Plots of the optimisation history and of each parameter: [report.html](report.html)."});
  add_best_trial(report, trials, objective, study_dir);
  if (form == Form::Html) add_plots(report, trials, space, objective);
  add_importance(report, trials, space, form);
  add_trials(report, trials, objective);
  return report;
}

}  // namespace

std::string study_report_markdown(const std::vector<Trial>& trials, const SearchSpace& space,
                                  const Objective& objective, const std::string& study_dir) {
  return render_markdown(study_document(trials, space, objective, study_dir, Form::Markdown));
}

std::string study_report_html(const std::vector<Trial>& trials, const SearchSpace& space, const Objective& objective,
                              const std::string& study_dir) {
  return render_html(study_document(trials, space, objective, study_dir, Form::Html));
}

}  // namespace whet::tune
