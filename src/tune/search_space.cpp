// Reading SPACE.yaml: each entry through one table of keys (io/yaml_config),
// checked for its type once every key is in, then the `when` conditions
// resolved to the categoricals they name and the parameters ordered so that a
// parent comes before what it conditions.
#include "tune/search_space.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <set>
#include <utility>

#include "core/error.h"
#include "core/utf8.h"
#include "train/train_config.h"

namespace whet::tune {
namespace {

using Kind = Distribution::Kind;

constexpr std::array<std::string_view, 3> kTypes = {"float", "int", "categorical"};  // Kind's order
constexpr std::string_view kExample = "learning_rate: {type: float, low: 1.0e-5, high: 1.0e-3, log: true}";
constexpr std::string_view kDistributionExample = "{type: float, low: 1.0e-5, high: 1.0e-3, log: true}";
constexpr std::string_view kNumericKeys[] = {"low", "high", "log", "step", "grid"};

// A condition as written, before the space is whole: a parent by name and the values that activate.
struct WrittenCondition {
  std::string parent;
  std::vector<nlohmann::json> values;
  std::string where;
};

// One entry of the file as read.
struct Entry {
  Parameter parameter;
  std::vector<WrittenCondition> when;
};

// --- Values ---

double read_number(const yaml::Input& in, const YAML::Node& node) {
  const nlohmann::json value = node.IsScalar() ? yaml::yaml_to_json(node, in.file) : nlohmann::json();
  if (!value.is_number() || !std::isfinite(value.get<double>())) in.reject(node, "a number");
  return value.get<double>();
}

// A choice or a `when` value: a string (UTF-8, as JSON and the study keep it),
// number, boolean or null, as YAML 1.2 reads it.
nlohmann::json read_scalar(const yaml::Input& in, const YAML::Node& node, std::string_view expected) {
  if (!node.IsScalar() && !node.IsNull()) in.reject(node, expected);
  if (node.IsScalar() && invalid_utf8_at(node.Scalar())) in.reject(node, "text in UTF-8");
  return yaml::yaml_to_json(node, in.file);
}

// A value for a message, as JSON, shortened.
std::string brief(const nlohmann::json& value) { return yaml::shown(value.dump()); }

// Adds `value` to `seen`, refusing a repeat (a set, so that a long list is not quadratic).
template <typename T>
void note_once(const yaml::Input& in, const YAML::Node& node, std::set<T>& seen, const T& value) {
  if (!seen.insert(value).second) fail(in.where(node), "{}: {} is listed twice", in.key, brief(value));
}

std::vector<nlohmann::json> read_choices(const yaml::Input& in) {
  constexpr std::string_view kExpected = "a list of strings, numbers, booleans or null";
  if (!in.node.IsSequence() || in.node.size() == 0) in.reject(in.node, kExpected);
  std::vector<nlohmann::json> choices;
  std::set<nlohmann::json> seen;
  for (const YAML::Node& item : in.node) {
    choices.push_back(read_scalar(in, item, kExpected));
    note_once(in, item, seen, choices.back());
  }
  return choices;
}

std::vector<double> read_grid(const yaml::Input& in) {
  if (!in.node.IsSequence() || in.node.size() == 0) in.reject(in.node, "a list of numbers");
  std::vector<double> grid;
  std::set<double> seen;
  for (const YAML::Node& item : in.node) {
    grid.push_back(read_number(in, item));
    note_once(in, item, seen, grid.back());
  }
  return grid;
}

// when: {parent: value} or {parent: [value, ...]}, every parent's condition holding.
std::vector<WrittenCondition> read_when(const yaml::Input& in) {
  constexpr std::string_view kExpected = "a mapping of parameter: choice (or list of choices)";
  if (!in.node.IsMap() || in.node.size() == 0) in.reject(in.node, kExpected);
  std::vector<WrittenCondition> conditions;
  for (const auto& entry : in.node) {
    if (!entry.first.IsScalar()) in.reject(entry.first, kExpected);
    WrittenCondition c{entry.first.Scalar(), {}, in.where(entry.first)};
    for (const WrittenCondition& earlier : conditions) {
      if (earlier.parent == c.parent) fail(c.where, "{}: {} is named twice", in.key, c.parent);
    }
    const yaml::Input values{entry.second, in.key + "." + c.parent, in.file, in.key_line};
    if (entry.second.IsSequence() && entry.second.size() > 0) {
      for (const YAML::Node& item : entry.second) c.values.push_back(read_scalar(values, item, kExpected));
    } else {
      c.values.push_back(read_scalar(values, entry.second, kExpected));
    }
    conditions.push_back(std::move(c));
  }
  return conditions;
}

// --- The table of an entry's keys ---

using Reader = std::function<void(Entry&, const yaml::Input&)>;

yaml::Field<Entry> field(std::string type, Reader read) {
  return {yaml::Custom{std::move(type)}, [read](Entry& e, const yaml::Input& in, yaml::Origins&) { read(e, in); }};
}

Distribution& of(Entry& e) { return e.parameter.distribution; }

// --- Checks once an entry's keys are in ---

bool is_integer(double x) { return std::nearbyint(x) == x; }

// Whether `x` lies on low + k·step, up to rounding in the decimal step.
bool on_step(double x, double low, double step) {
  const double k = (x - low) / step;
  return std::abs(k - std::nearbyint(k)) <= 1e-9 * std::max(1.0, std::abs(k));
}

void check_categorical(const yaml::Scope& scope) {
  for (std::string_view key : kNumericKeys) {
    if (scope.has(key)) fail(scope.where(key), "{}: a categorical parameter takes choices, not {}", scope.path(key), key);
  }
  if (!scope.has("choices")) fail(scope.where(), "{}: required for type categorical", scope.path("choices"));
}

void check_bounds(Distribution& d, const yaml::Scope& scope) {
  const bool integer = d.kind == Kind::Int;
  for (std::string_view key : {"low", "high"}) {
    if (!scope.has(key)) fail(scope.where(), "{}: required for type {}", scope.path(key), kTypes[std::size_t(d.kind)]);
  }
  if (integer && !is_integer(d.low)) scope.reject("low", "an integer");
  if (integer && !is_integer(d.high)) scope.reject("high", "an integer");
  if (!(d.low < d.high)) scope.reject("high", fmt::format("a number above low ({})", d.low));
  if (d.log && d.low <= 0) scope.reject("low", "a number above 0 (log: true)");
}

// Optuna's rules: an int steps by a whole number (1 unless said), a log scale
// takes no step (an int's is 1), and the steps must reach high exactly (Optuna
// would lower high in silence).
void check_step(Distribution& d, const yaml::Scope& scope) {
  const bool integer = d.kind == Kind::Int;
  if (integer && !scope.has("step")) d.step = 1;
  if (integer && !is_integer(d.step)) scope.reject("step", "an integer >= 1");
  if (d.log && scope.has("step") && !(integer && d.step == 1)) {
    fail(scope.where("step"), "{}: a log scale takes no step (Optuna's rule); use grid for chosen points",
         scope.path("step"));
  }
  if (d.step > 0 && !on_step(d.high, d.low, d.step)) {
    const double reachable = d.low + std::floor((d.high - d.low) / d.step + 1e-9) * d.step;
    fail(scope.where("step"), "{}: {} does not divide high - low ({}) into whole steps; set high to {}",
         scope.path("step"), d.step, d.high - d.low, reachable);
  }
}

void check_grid(const Parameter& p, const yaml::Scope& scope) {
  const Distribution& d = p.distribution;
  for (double x : p.grid) {
    const bool fits = x >= d.low && x <= d.high && (d.step == 0 || on_step(x, d.low, d.step));
    if (!fits) {
      fail(scope.where("grid"), "{}: {} is not a value of the parameter (low {}, high {}{})", scope.path("grid"), x,
           d.low, d.high, d.step > 0 ? fmt::format(", step {}", d.step) : "");
    }
  }
}

void check_numeric(Entry& e, const yaml::Scope& scope) {
  if (scope.has("choices")) {
    fail(scope.where("choices"), "{}: only a categorical parameter takes choices", scope.path("choices"));
  }
  check_bounds(of(e), scope);
  check_step(of(e), scope);
  check_grid(e.parameter, scope);
}

void check_entry(Entry& e, const yaml::Scope& scope) {
  if (!scope.has("type")) fail(scope.where(), "{}: required ({})", scope.path("type"), yaml::join(kTypes));
  if (of(e).kind == Kind::Categorical) {
    check_categorical(scope);
  } else {
    check_numeric(e, scope);
  }
}

const yaml::Table<Entry>& entry_table() {
  static const yaml::Table<Entry> table(
      {
          {"type", field("one of " + yaml::join(kTypes),
                         [](Entry& e, const yaml::Input& in) {
                           of(e).kind = Kind(yaml::read_choice(in, yaml::Choice{kTypes}));
                         }),
           "Optuna's distribution: float, int or categorical"},
          {"low", field("number", [](Entry& e, const yaml::Input& in) { of(e).low = read_number(in, in.node); }),
           "The smallest value (float, int)"},
          {"high", field("number", [](Entry& e, const yaml::Input& in) { of(e).high = read_number(in, in.node); }),
           "The largest value, included (float, int)"},
          {"log", field("true or false", [](Entry& e, const yaml::Input& in) { of(e).log = yaml::read_boolean(in); }),
           "Sample on a log scale (low > 0)"},
          {"step", field("number > 0",
                         [](Entry& e, const yaml::Input& in) {
                           of(e).step = yaml::read_real(in, yaml::Real{0, true});
                         }),
           "Values are low + k * step (float: optional; int: 1 unless set)"},
          {"choices", field("list of values", [](Entry& e, const yaml::Input& in) { of(e).choices = read_choices(in); }),
           "The values of a categorical"},
          {"grid", field("list of numbers", [](Entry& e, const yaml::Input& in) { e.parameter.grid = read_grid(in); }),
           "The values the grid sampler tries (float, int)"},
          {"when", field("mapping", [](Entry& e, const yaml::Input& in) { e.when = read_when(in); }),
           "Search this parameter only when each named categorical holds one of the given choices"},
      },
      {.unknown_hint = "a parameter takes type, low, high, log, step, choices, grid and when"}, check_entry);
  return table;
}

Entry read_entry(const yaml::Input& in, yaml::Origins& origins) {
  if (!in.node.IsMap()) in.reject(in.node, fmt::format("a distribution such as {}", kDistributionExample));
  Entry e;
  e.parameter.name = in.key;
  e.parameter.where = in.origin();
  yaml::read_keys(e, entry_table(), in, origins);
  yaml::finish(e, entry_table(), yaml::Scope{origins, in.key + "."});
  return e;
}

// --- Conditions ---


Condition resolve(const WrittenCondition& c, const std::vector<Entry>& entries, std::string_view child) {
  std::vector<std::string_view> names;
  for (const Entry& e : entries) names.push_back(e.parameter.name);
  const auto it = std::find(names.begin(), names.end(), c.parent);
  if (it == names.end() || *it == child) {
    fail(c.where, "{}.when: {} is not another parameter of this space{}", child, c.parent,
         yaml::did_you_mean(c.parent, names));
  }
  const Parameter& parent = entries[std::size_t(it - names.begin())].parameter;
  if (parent.distribution.kind != Kind::Categorical) {
    fail(c.where, "{}.when: {} is of type {}; a condition names a categorical parameter", child, c.parent,
         kTypes[std::size_t(parent.distribution.kind)]);
  }
  const std::vector<nlohmann::json>& choices = parent.distribution.choices;
  std::map<nlohmann::json, std::size_t> index;
  for (std::size_t i = 0; i < choices.size(); ++i) index.emplace(choices[i], i);
  Condition condition{c.parent, {}};
  for (const nlohmann::json& value : c.values) {
    const auto it = index.find(value);
    if (it == index.end()) {
      fail(c.where, "{}.when.{}: {} is not one of {}'s choices ({})", child, c.parent, brief(value), c.parent,
           brief(choices));
    }
    condition.choices.push_back(it->second);
  }
  return condition;
}

// File order, each parameter after its parents: the first one whose parents
// are placed goes next; when none can, the rest condition each other.
std::vector<Parameter> parents_first(std::vector<Parameter> waiting) {
  std::vector<Parameter> placed;
  std::set<std::string, std::less<>> placed_names;
  while (!waiting.empty()) {
    const auto ready = std::find_if(waiting.begin(), waiting.end(), [&](const Parameter& p) {
      return std::all_of(p.when.begin(), p.when.end(),
                         [&](const Condition& c) { return placed_names.count(c.parent) > 0; });
    });
    if (ready == waiting.end()) {
      std::vector<std::string_view> cycle;
      for (const Parameter& p : waiting) cycle.push_back(p.name);
      fail(waiting.front().where, "{}.when: the conditions of {} depend on each other in a cycle",
           waiting.front().name, yaml::join(cycle));
    }
    placed_names.insert(ready->name);
    placed.push_back(std::move(*ready));
    waiting.erase(ready);
  }
  return placed;
}

}  // namespace

const Parameter* SearchSpace::find(std::string_view name) const {
  const auto it = std::find_if(parameters.begin(), parameters.end(), [&](const Parameter& p) { return p.name == name; });
  return it == parameters.end() ? nullptr : &*it;
}

SearchSpace parse_search_space(const std::string& text, std::string_view file, yaml::Names known_keys) {
  const YAML::Node root = yaml::parse_document(text, file, kExample);
  yaml::Origins origins{std::string(file)};
  const yaml::TableNames keys{
      .names = {known_keys.begin(), known_keys.end()},
      .unknown_hint = "a search space varies keys of the training config; whet train --help-config lists them",
      .example = kExample};
  std::vector<Entry> entries;
  keys.walk(yaml::Input{root, "", file, 0}, [&](std::size_t, const yaml::Input& in) {
    origins.note(in);
    entries.push_back(read_entry(in, origins));
  });
  std::vector<Parameter> parameters;
  for (const Entry& e : entries) {
    Parameter p = e.parameter;
    for (const WrittenCondition& c : e.when) p.when.push_back(resolve(c, entries, p.name));
    parameters.push_back(std::move(p));
  }
  return SearchSpace{std::string(file), parents_first(std::move(parameters))};
}

SearchSpace load_search_space(const std::string& path) {
  std::vector<std::string_view> known;
  for (const TrainConfigKey& key : train_config_keys()) known.push_back(key.name);
  return parse_search_space(yaml::read_config_file(path), path, known);
}

bool is_active(const Parameter& parameter, const std::map<std::string, double>& values) {
  return std::all_of(parameter.when.begin(), parameter.when.end(), [&](const Condition& c) {
    const auto it = values.find(c.parent);
    return it != values.end() &&
           std::find(c.choices.begin(), c.choices.end(), std::size_t(it->second)) != c.choices.end();
  });
}

}  // namespace whet::tune
