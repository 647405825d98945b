// k-fold cross-validation of a trial (tune/cross_validation.h).
#include "tune/cross_validation.h"
#include "tune/trial_text.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace whet::tune {
namespace {

constexpr const char* kWhere = "--folds";

}  // namespace

CrossValidation plan_cross_validation(const TrainConfig& config, int folds, const std::string& dir) {
  CrossValidation cv;
  cv.files = fold_files(dir, folds);
  cv.train_data = config.train_data;
  cv.val_data = config.val_data;
  cv.val_set_size = config.val_set_size;
  return cv;
}

std::vector<std::string> fold_overrides(const CrossValidation& cv, int k) {
  const FoldFiles& files = cv.files.at(std::size_t(k));
  return {"train_data=" + nlohmann::json::array({files.train}).dump(),
          "val_data=" + nlohmann::json::array({files.validation}).dump(), "val_set_size=0"};
}

TrainConfig fold_config(const std::string& config_path, const CrossValidation& cv) {
  try {
    return load_train_config(config_path, fold_overrides(cv, 0));
  } catch (const Error& error) {
    fail(kWhere, "cross-validation trains on train_data's folds and validates on a fold as val_data, which this "
                 "config refuses: {}",
         error.what());
  }
}

void check_cross_validated_objective(const Objective& objective) {
  if (objective.metric != "val_loss")
    fail(kWhere, "cross-validation scores each fold by val_loss on its held-out records; {} is measured on "
                 "eval_task, the same records in every fold. Use --metric val_loss, or leave out --folds",
         objective.metric);
}

TrainConfig with_study_data(TrainConfig resolved, const CrossValidation& cv, const std::string& output_dir) {
  resolved.train_data = cv.train_data;
  resolved.val_data = cv.val_data;
  resolved.val_set_size = cv.val_set_size;
  resolved.output_dir = output_dir;
  return resolved;
}

FoldScore fold_score(std::span<const double> values) {
  WHET_ASSERT(!values.empty());
  FoldScore score;
  for (double v : values) score.mean += v;
  score.mean /= double(values.size());
  if (values.size() < 2) return score;
  double squares = 0;
  for (double v : values) squares += (v - score.mean) * (v - score.mean);
  score.std = std::sqrt(squares / double(values.size() - 1));
  return score;
}

std::string value_with_folds_text(const Trial& trial) {
  std::string text = value_text(trial.value);
  if (!trial.value || trial.fold_values.empty()) return text;
  if (const std::optional<double> spread = fold_score(trial.fold_values).std) text += fmt::format(" ± {:.3g}", *spread);
  return text + fmt::format(" (folds {:.4g})", fmt::join(trial.fold_values, ", "));
}

}  // namespace whet::tune
