// A study's space and metric, recorded and checked (tune/study_identity.h).
#include "tune/study_identity.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "tune/distribution_json.h"

namespace whet::tune {
namespace {

constexpr const char* kSpaceAttr = "space";
constexpr const char* kMetricAttr = "metric";
constexpr const char* kFoldsAttr = "folds";

// Records `value` as the study attribute `key` if the study has none; else
// calls `refuse` with the one it has, unless that is `value`.
void check_recorded(StudyStore& store, const std::map<std::string, nlohmann::json>& attrs, const char* key,
                    const nlohmann::json& value, const std::function<void(const nlohmann::json&)>& refuse) {
  const auto stored = attrs.find(key);
  if (stored == attrs.end())
    store.set_study_attr(key, value);
  else if (stored->second != value)
    refuse(stored->second);
}

std::string folds_text(const nlohmann::json& folds) {
  return folds == 0 ? "by one run each (no --folds)" : fmt::format("by {}-fold cross-validation", folds.dump());
}

nlohmann::json conditions_json(const Parameter& parameter) {
  nlohmann::json out = nlohmann::json::array();
  for (const Condition& c : parameter.when) out.push_back({{"parent", c.parent}, {"choices", c.choices}});
  return out;
}

// The names of parameters that are in one space and not the other, or differ.
std::vector<std::string> differing_parameters(const nlohmann::json& stored, const nlohmann::json& given) {
  std::set<std::string> names;
  for (const auto& [name, value] : stored.items()) names.insert(name);
  for (const auto& [name, value] : given.items()) names.insert(name);
  std::vector<std::string> differing;
  for (const std::string& name : names)
    if (!stored.contains(name) || !given.contains(name) || stored[name] != given[name]) differing.push_back(name);
  return differing;
}

}  // namespace

nlohmann::json space_json(const SearchSpace& space) {
  nlohmann::json out = nlohmann::json::object();
  for (const Parameter& p : space.parameters)
    out[p.name] = {{"distribution", nlohmann::json(distribution_to_json(p.distribution))},
                   {"when", conditions_json(p)},
                   {"grid", p.grid}};
  return out;
}

void check_study_identity(StudyStore& store, const SearchSpace& space, const Objective& objective) {
  const std::map<std::string, nlohmann::json> attrs = store.study_attrs();
  const nlohmann::json given = space_json(space);
  check_recorded(store, attrs, kSpaceAttr, given, [&](const nlohmann::json& stored) {
    fail(space.file, "the study in {} searched another space (parameters that differ: {}); start another --study "
                     "folder for this one",
         store.path(), fmt::join(differing_parameters(stored, given), ", "));
  });
  check_recorded(store, attrs, kMetricAttr, objective.metric, [&](const nlohmann::json& stored) {
    fail("--metric", "the study in {} optimises {}, not {}; start another --study folder to optimise {}",
         store.path(), stored.dump(), objective.metric, objective.metric);
  });
  // A study from before --folds has no `folds`: it was not cross-validated.
  const auto folds = attrs.find(kFoldsAttr);
  if (folds != attrs.end() || objective.folds > 0)
    check_recorded(store, attrs, kFoldsAttr, objective.folds, [&](const nlohmann::json& stored) {
      fail("--folds", "the study in {} scores trials {}, not {}; start another --study folder for this one",
           store.path(), folds_text(stored), folds_text(objective.folds));
    });
}

}  // namespace whet::tune
