// A study's space and metric, recorded and checked (tune/study_identity.h).
#include "tune/study_identity.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "tune/distribution_json.h"

namespace whet::tune {
namespace {

constexpr const char* kSpaceAttr = "space";
constexpr const char* kMetricAttr = "metric";

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
  const auto stored_space = attrs.find(kSpaceAttr);
  if (stored_space == attrs.end()) {
    store.set_study_attr(kSpaceAttr, given);
  } else if (stored_space->second != given) {
    fail(space.file, "the study in {} searched another space (parameters that differ: {}); start another --study "
                     "folder for this one",
         store.path(), fmt::join(differing_parameters(stored_space->second, given), ", "));
  }
  const auto stored_metric = attrs.find(kMetricAttr);
  if (stored_metric == attrs.end()) {
    store.set_study_attr(kMetricAttr, objective.metric);
  } else if (stored_metric->second != objective.metric) {
    fail("--metric", "the study in {} optimises {}, not {}; start another --study folder to optimise {}",
         store.path(), stored_metric->second.dump(), objective.metric, objective.metric);
  }
}

}  // namespace whet::tune
