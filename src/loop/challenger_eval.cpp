#include "loop/challenger_eval.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "eval/builtin_files.h"
#include "eval/evaluate.h"
#include "eval/gate.h"
#include "models/lora_files.h"
#include "track/model_uri.h"
#include "track/registry_source.h"

namespace whet::loop {

namespace {

using nlohmann::json;

// A base and, when `adapter` is not "", an adapter on it.
LoadedModel load_with_adapter(const std::string& model, const std::string& adapter) {
  LoadedModel loaded = load_model(model);
  if (!adapter.empty())
    loaded.adapter = std::make_shared<const LlamaLora>(load_lora_adapter(adapter, loaded.model.config));
  return loaded;
}

struct Candidate {
  std::string label;
  std::optional<int64_t> version;
  std::string model, adapter;
};

bool has_alias(track::RegistryStore& registry, const std::string& name, const std::string& alias) {
  const std::optional<track::RegisteredModel> model = registry.find_model(name);
  return model && model->aliases.count(alias) > 0;
}

// The champion: what the alias serves, or the base the challenger was trained from before the first promotion.
Candidate champion_of(const WatchConfig& config, track::RegistryStore& registry, const std::string& base_model) {
  if (!has_alias(registry, config.name, config.alias)) return {"the base model " + base_model, {}, base_model, ""};
  const std::string uri = fmt::format("{}{}@{}", track::kModelUriScheme, config.name, config.alias);
  const track::ResolvedModel resolved = track::resolve_model_uri(registry, uri);
  return {fmt::format("{} (version {})", uri, resolved.version.version), resolved.version.version, resolved.model,
          resolved.adapter};
}

Candidate challenger_of(const track::VersionSource& run, const std::string& run_dir) {
  if (run.kind == track::VersionKind::Model) return {run_dir, {}, run.files, ""};
  return {run_dir, {}, run.base_model, run.files};
}

std::string metric_to_compare(const WatchConfig& config, const Task& task) {
  const std::vector<MetricSpec> specs = metrics_of(task.kind);
  if (config.metric.empty()) return specs.front().name;
  for (const MetricSpec& s : specs)
    if (s.name == config.metric) return s.name;
  std::vector<std::string> names;
  for (const MetricSpec& s : specs) names.push_back(s.name);
  fail(config.path, "metric: '{}' is not a metric of {} (a {} task has {})", config.metric, task.path,
       task_kind_name(task.kind), fmt::format("{}", fmt::join(names, ", ")));
}

double metric_value(const TaskResult& result, const std::string& metric) {
  const auto it = std::find_if(result.metrics.begin(), result.metrics.end(),
                               [&](const Metric& m) { return m.name == metric; });
  WHET_ASSERT(it != result.metrics.end());
  return it->value;
}

MetricComparison compare(const TaskResult& champion, const TaskResult& challenger, const std::string& metric) {
  const EvalOptions options;
  MetricComparison c;
  c.metric = metric;
  for (const MetricSpec& s : metrics_of(champion.kind))
    if (s.name == metric) c.higher_is_better = s.higher_is_better;
  c.champion = metric_value(champion, metric);
  c.challenger = metric_value(challenger, metric);
  c.improvement = c.higher_is_better ? c.challenger - c.champion : c.champion - c.challenger;
  c.p_value = paired_p_value(challenger, champion, metric, options);
  c.items = int64_t(challenger.predictions.size());
  return c;
}

BiasComparison compare_bias(const TaskResult& champion, const TaskResult& challenger, const WatchConfig& config) {
  BiasComparison b;
  b.champion = metric_value(champion, "mean_abs_gap");
  b.challenger = metric_value(challenger, "mean_abs_gap");
  b.rise = b.champion > 0 ? b.challenger / b.champion - 1 : 0;
  b.p_worse = paired_p_value(champion, challenger, "mean_abs_gap", EvalOptions{});
  b.limit = config.max_bias_rise;
  b.failed = b.rise > b.limit && b.p_worse < config.significance;
  return b;
}

ForgettingEvidence forgetting_of(const std::string& run_dir) {
  const std::optional<GateRecord> gate = read_gate_verdict(run_dir);
  if (!gate) return {};
  return {true, gate->passed, gate->reason};
}

// Each model's results on `tasks`, in their order: the challenger loaded once for
// all of them, then the champion (its adapter swapped in when both share a base).
struct Scores {
  std::vector<TaskResult> champion, challenger;
};
Scores score_both(const Candidate& champion, const Candidate& challenger, const std::vector<const Task*>& tasks,
                  const std::function<void(const std::string&)>& say) {
  Scores scores;
  LoadedModel model = load_with_adapter(challenger.model, challenger.adapter);
  for (const Task* task : tasks) {
    say(fmt::format("scoring the challenger on {} ({} items)", task->path, task->items.size()));
    scores.challenger.push_back(evaluate_task(model, "challenger", *task, EvalOptions{}));
  }
  if (champion.model == challenger.model) {
    model.adapter = champion.adapter.empty()
                        ? nullptr
                        : std::make_shared<const LlamaLora>(load_lora_adapter(champion.adapter, model.model.config));
  } else {
    model = load_with_adapter(champion.model, champion.adapter);
  }
  for (const Task* task : tasks) {
    say(fmt::format("scoring {} on {} ({} items)", champion.label, task->path, task->items.size()));
    scores.champion.push_back(evaluate_task(model, "champion", *task, EvalOptions{}));
  }
  return scores;
}

json comparison_json(const MetricComparison& c) {
  return {{"metric", c.metric},   {"higher_is_better", c.higher_is_better}, {"champion", c.champion},
          {"challenger", c.challenger}, {"improvement", c.improvement}, {"p_value", c.p_value},
          {"items", c.items}};
}

}  // namespace

Evaluation evaluate_challenger(const WatchConfig& config, track::RegistryStore& registry, const std::string& run_dir,
                               const std::string& base_model, const std::function<void(const std::string&)>& say) {
  const auto start = std::chrono::steady_clock::now();
  const track::VersionSource run = track::inspect_version_source(run_dir, {});
  const Candidate champion = champion_of(config, registry, base_model);
  const Candidate challenger = challenger_of(run, run_dir);
  Evaluation e{champion.label, champion.version, run_dir, config.task, {}, std::nullopt, forgetting_of(run_dir), 0};

  const Task task = read_task(config.task);
  const std::string metric = metric_to_compare(config, task);
  const Task pairs = parse_task(std::string(kBiasPairs), builtin_file(kBiasPairs));
  std::vector<const Task*> tasks = {&task};
  if (config.bias_check) tasks.push_back(&pairs);
  const Scores scores = score_both(champion, challenger, tasks, say);
  e.comparison = compare(scores.champion[0], scores.challenger[0], metric);
  if (config.bias_check) e.bias = compare_bias(scores.champion[1], scores.challenger[1], config);
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return e;
}

json evaluation_json(const Evaluation& e) {
  json j = {{"champion", e.champion},
            {"champion_version", e.champion_version ? json(*e.champion_version) : json(nullptr)},
            {"challenger", e.challenger},
            {"task", e.task},
            {"comparison", comparison_json(e.comparison)},
            {"forgetting", {{"judged", e.forgetting.judged}, {"passed", e.forgetting.passed},
                            {"reason", e.forgetting.reason}}},
            {"bias", nullptr},
            {"seconds", e.seconds}};
  if (e.bias)
    j["bias"] = {{"champion", e.bias->champion}, {"challenger", e.bias->challenger}, {"rise", e.bias->rise},
                 {"p_worse", e.bias->p_worse},   {"limit", e.bias->limit},           {"failed", e.bias->failed}};
  return j;
}

}  // namespace whet::loop
