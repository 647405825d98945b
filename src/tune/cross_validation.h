#pragma once
// k-fold cross-validation of a trial (docs/tune.md, "Cross-validation"): a
// study run with --folds K trains each trial K times, fold k on the other
// folds' records of train_data, validated on fold k's (tune/fold_split.h); the
// config's own val_data is not used. The trial's value is the mean of the
// folds' values, and their spread is kept beside it.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "train/train_config.h"
#include "tune/fold_split.h"
#include "tune/objective.h"

namespace whet::tune {

struct CrossValidation {
  std::vector<FoldFiles> files;  // fold k's data
  // The study config's data keys, put back into the config a trial records
  // (and best.yaml), so that training it again uses all the data.
  std::vector<std::string> train_data, val_data;
  double val_set_size = 0;
};

// `folds` folds of `config`'s train_data, their files in `dir`.
CrossValidation plan_cross_validation(const TrainConfig& config, int folds, const std::string& dir);

// Fold k's data as overrides of the training config: train_data and val_data
// its files, val_set_size 0.
std::vector<std::string> fold_overrides(const CrossValidation& cv, int k);

// The config at `config_path` as fold 0 reads it; refused, naming --folds,
// when it does not take the folds' data (a method that evaluates no validation data).
TrainConfig fold_config(const std::string& config_path, const CrossValidation& cv);

// Refused, naming --folds: an objective other than val_loss (an eval_task
// metric scores the same task file in every fold, not the fold's records).
void check_cross_validated_objective(const Objective& objective);

// `resolved`, a fold's config, with the study config's data keys and `output_dir`.
TrainConfig with_study_data(TrainConfig resolved, const CrossValidation& cv, const std::string& output_dir);

// The folds' values: their mean, and their sample standard deviation (n - 1;
// none for a single value).
struct FoldScore {
  double mean = 0;
  std::optional<double> std;
};
FoldScore fold_score(std::span<const double> values);

// A trial's value, and for a cross-validated one its folds' spread and
// values: "0.412 ± 0.031 (folds 0.38, 0.44, 0.41)"; "" without a value.
std::string value_with_folds_text(const Trial& trial);

}  // namespace whet::tune
