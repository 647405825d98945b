// best.yaml, report.md and report.html (tune/study_outputs.h).
#include "tune/study_outputs.h"

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "train/train_config.h"
#include "tune/best_trial.h"
#include "tune/study_report.h"
#include "tune/trial_text.h"

namespace whet::tune {

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

void write_study_outputs(StudyStore& store, const std::string& study_dir, const SearchSpace& space,
                         const Objective& objective) {
  write_best_config(store, study_dir, objective);
  const std::vector<Trial> trials = store.trials();
  write_file_atomic(study_dir + "/report.md", study_report_markdown(trials, space, objective, study_dir));
  write_file_atomic(study_dir + "/report.html", study_report_html(trials, space, objective, study_dir));
}

}  // namespace whet::tune
