#pragma once
// What a study folder was started with, kept in its study attributes, so that
// running `whet tune` again on the folder continues the same search or is
// refused: another space or objective would mix trials that answer different
// questions. (The direction is the study's own; StudyStore checks it.)
#include <nlohmann/json.hpp>

#include "tune/objective.h"
#include "tune/search_space.h"
#include "tune/study_store.h"

namespace whet::tune {

// The space as its trials see it: each parameter's distribution in Optuna's
// form, its conditions (parent and choices) and its grid, by name.
nlohmann::json space_json(const SearchSpace& space);

// Records the space, the metric and the folds in a new study; in one that has
// them, refuses others, naming the parameters, the metric or the folds that differ.
void check_study_identity(StudyStore& store, const SearchSpace& space, const Objective& objective);

}  // namespace whet::tune
