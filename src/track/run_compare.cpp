#include "track/run_compare.h"

#include <algorithm>
#include <set>
#include <string>

namespace whet::track {

using nlohmann::json;

namespace {

json value_or_null(const json& object, const std::string& key) {
  const auto it = object.find(key);
  return it == object.end() ? json(nullptr) : *it;
}

}  // namespace

json compare_runs(const std::vector<json>& runs) {
  std::set<std::string> keys, metrics;
  for (const json& run : runs) {
    for (const auto& [key, value] : run["params"].items()) keys.insert(key);
    for (const char* part : {"best", "last"})
      for (const auto& [name, value] : run[part].items())
        if (name != "step") metrics.insert(name);
  }
  json differing = json::object();
  for (const std::string& key : keys) {
    json values = json::object();
    for (const json& run : runs) values[run["id"].get<std::string>()] = value_or_null(run["params"], key);
    const json first = values.begin().value();
    if (!std::all_of(values.begin(), values.end(), [&](const json& value) { return value == first; }))
      differing[key] = values;
  }
  json by_metric = json::object();
  for (const std::string& name : metrics) {
    json values = json::object();
    for (const json& run : runs)
      values[run["id"].get<std::string>()] = {{"best", value_or_null(run["best"], name)}, {"last", value_or_null(run["last"], name)}};
    by_metric[name] = values;
  }
  return {{"runs", runs}, {"differing_params", differing}, {"metrics", by_metric}};
}

}  // namespace whet::track
