#include "eval/report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace whet {
namespace {

using json = nlohmann::json;

constexpr double kSignificance = 0.05;

std::string role_name(TaskRole role) {
  switch (role) {
    case TaskRole::Task: return "task";
    case TaskRole::Forgetting: return "forgetting";
    case TaskRole::Bias: return "bias";
  }
  return "";
}

const Metric* find_metric(const TaskResult& r, const std::string& name) {
  const auto it = std::find_if(r.metrics.begin(), r.metrics.end(), [&](const Metric& m) { return m.name == name; });
  return it == r.metrics.end() ? nullptr : &*it;
}

std::string with_interval(const Metric& m) {
  return fmt::format("{:.4f} [{:.4f}, {:.4f}]", m.value, m.interval.low, m.interval.high);
}

// Every model against every model before it in the run's order, metric by metric.
struct Comparison {
  std::string model, baseline, metric;
  double baseline_value = 0, value = 0, p_value = 1;
};

std::vector<Comparison> comparisons(const EvalRun& run, const TaskRuns& t) {
  std::vector<Comparison> out;
  for (size_t b = 0; b < t.results.size(); ++b) {
    for (size_t m = b + 1; m < t.results.size(); ++m) {
      for (const Metric& metric : t.results[m].metrics) {
        Comparison c;
        c.model = t.results[m].model;
        c.baseline = t.results[b].model;
        c.metric = metric.name;
        c.baseline_value = find_metric(t.results[b], metric.name)->value;
        c.value = metric.value;
        c.p_value = paired_p_value(t.results[m], t.results[b], metric.name, run.options);
        out.push_back(c);
      }
    }
  }
  return out;
}

json metric_json(const Metric& m) {
  return {{"value", m.value}, {"low", m.interval.low}, {"high", m.interval.high}, {"higher_is_better", m.higher_is_better}};
}

json result_json(const TaskResult& r) {
  json j = {{"model", r.model}, {"seconds", r.seconds}, {"metrics", json::object()}, {"predictions", r.predictions}};
  for (const Metric& m : r.metrics) j["metrics"][m.name] = metric_json(m);
  if (r.classification) {
    const ClassificationReport& c = *r.classification;
    j["labels"] = c.labels;
    j["confusion"] = c.confusion;
    for (const ClassScores& s : c.per_class)
      j["per_class"][s.label] = {{"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}};
  }
  for (const GroupGap& g : r.gaps) {
    json groups = json::object();
    for (const auto& [name, value] : g.group_mean_logprob) groups[name] = value;
    j["bias"][g.dimension] = {{"mean_abs_gap", g.mean_abs_gap}, {"items", g.items}, {"group_mean_logprob", groups}};
  }
  return j;
}

void add_confusion(Document& d, const TaskResult& r) {
  const ClassificationReport& c = *r.classification;
  Table confusion;
  confusion.header = {"reference \\ predicted"};
  for (const std::string& label : c.labels) confusion.header.push_back(label);
  for (size_t i = 0; i < c.confusion.size(); ++i) {
    std::vector<std::string> row{c.labels[i]};
    for (int64_t n : c.confusion[i]) row.push_back(std::to_string(n));
    confusion.rows.push_back(row);
  }
  Table per_class{{"label", "precision", "recall", "F1", "support"}, {}};
  for (const ClassScores& s : c.per_class)
    per_class.rows.push_back({s.label, fmt::format("{:.3f}", s.precision), fmt::format("{:.3f}", s.recall),
                              fmt::format("{:.3f}", s.f1), std::to_string(s.support)});
  d.blocks.push_back(Heading{"Confusion matrix: " + r.model, 4});
  d.blocks.push_back(confusion);
  d.blocks.push_back(per_class);
}

void add_task(Document& d, const EvalRun& run, const TaskRuns& t) {
  d.blocks.push_back(Heading{fmt::format("{} ({}, {} items)", t.task.path, task_kind_name(t.task.kind),
                                         t.task.items.size()),
                             3});
  Table table;
  table.header = {"model"};
  for (const Metric& m : t.results.front().metrics)
    table.header.push_back(m.name + (m.higher_is_better ? " ↑" : " ↓") + fmt::format(" [{:.0f}% CI]", 100 * run.options.level));
  table.header.push_back("seconds");
  BarChart chart{t.results.front().metrics.front().name, {}, {}};
  for (const TaskResult& r : t.results) {
    std::vector<std::string> row{r.model};
    for (const Metric& m : r.metrics) row.push_back(with_interval(m));
    row.push_back(fmt::format("{:.1f}", r.seconds));
    table.rows.push_back(row);
    chart.labels.push_back(r.model);
    chart.values.push_back(r.metrics.front().value);
  }
  d.blocks.push_back(table);
  d.blocks.push_back(chart);
  if (const std::vector<Comparison> cs = comparisons(run, t); !cs.empty()) {
    Table significance{{"model", "against", "metric", "value", "against value", "difference", "p (paired bootstrap)", ""}, {}};
    for (const Comparison& c : cs) {
      significance.rows.push_back({c.model, c.baseline, c.metric, fmt::format("{:.4f}", c.value),
                                   fmt::format("{:.4f}", c.baseline_value), fmt::format("{:+.4f}", c.value - c.baseline_value),
                                   fmt::format("{:.4f}", c.p_value), c.p_value < kSignificance ? "better, significant" : ""});
    }
    d.blocks.push_back(Paragraph{fmt::format(
        "Each model against each one listed before it, on the same items: the one-sided p-value that it is not "
        "better ({} resamples; below {} marked significant).",
        run.options.resamples, kSignificance)});
    d.blocks.push_back(significance);
  }
  for (const TaskResult& r : t.results)
    if (r.classification) add_confusion(d, r);
  for (const TaskResult& r : t.results) {
    if (r.gaps.empty()) continue;
    Table gaps{{"dimension", "mean |gap| (nats)", "items", "mean log-likelihood by group"}, {}};
    for (const GroupGap& g : r.gaps) {
      std::string groups;
      for (const auto& [name, value] : g.group_mean_logprob) groups += fmt::format("{}{} {:.3f}", groups.empty() ? "" : ", ", name, value);
      gaps.rows.push_back({g.dimension, fmt::format("{:.4f}", g.mean_abs_gap), std::to_string(g.items), groups});
    }
    d.blocks.push_back(Heading{"Counterfactual gaps: " + r.model, 4});
    d.blocks.push_back(gaps);
  }
}

}  // namespace

std::vector<Regression> forgetting_regressions(const EvalRun& run) {
  std::vector<Regression> out;
  for (const TaskRuns& t : run.tasks) {
    if (t.role != TaskRole::Forgetting || t.results.empty()) continue;
    const Metric& base = t.results.front().metrics.front();
    for (size_t m = 1; m < t.results.size(); ++m) {
      const Metric& now = t.results[m].metrics.front();
      const bool worse = base.higher_is_better ? now.value < base.value - run.thresholds.accuracy_drop
                                               : now.value > base.value * (1 + run.thresholds.perplexity_rise);
      if (worse) out.push_back({t.results[m].model, t.task.path, base.name, base.value, now.value});
    }
  }
  return out;
}

json eval_json(const EvalRun& run) {
  json j = {{"command", run.command},
            {"models", run.models},
            {"bootstrap", {{"resamples", run.options.resamples}, {"level", run.options.level}, {"seed", run.options.seed}}},
            {"few_shot", run.options.shots.size()},
            {"tasks", json::array()}};
  for (const TaskRuns& t : run.tasks) {
    json task = {{"path", t.task.path}, {"kind", task_kind_name(t.task.kind)}, {"role", role_name(t.role)},
                 {"items", t.task.items.size()}, {"results", json::array()}, {"comparisons", json::array()}};
    for (const TaskResult& r : t.results) task["results"].push_back(result_json(r));
    for (const Comparison& c : comparisons(run, t))
      task["comparisons"].push_back({{"model", c.model}, {"baseline", c.baseline}, {"metric", c.metric},
                                     {"baseline_value", c.baseline_value}, {"value", c.value}, {"p_value", c.p_value}});
    j["tasks"].push_back(task);
  }
  j["forgetting"] = {{"perplexity_rise", run.thresholds.perplexity_rise},
                     {"accuracy_drop", run.thresholds.accuracy_drop},
                     {"regressions", json::array()}};
  for (const Regression& r : forgetting_regressions(run))
    j["forgetting"]["regressions"].push_back(
        {{"model", r.model}, {"task", r.task}, {"metric", r.metric}, {"baseline", r.baseline}, {"value", r.value}});
  return j;
}

Document eval_document(const EvalRun& run) {
  Document d{"Whet evaluation", {}};
  d.blocks.push_back(Paragraph{"Reproduce every number with: " + run.command});
  d.blocks.push_back(Paragraph{fmt::format(
      "Models: {}. The first is the baseline. Intervals: {:.0f}% percentile bootstrap over items, {} resamples, seed {}.",
      fmt::join(run.models, ", "), 100 * run.options.level, run.options.resamples, run.options.seed)});
  for (TaskRole role : {TaskRole::Task, TaskRole::Forgetting, TaskRole::Bias}) {
    const bool any = std::any_of(run.tasks.begin(), run.tasks.end(), [&](const TaskRuns& t) { return t.role == role; });
    if (!any) continue;
    d.blocks.push_back(Heading{role == TaskRole::Task         ? "Tasks"
                               : role == TaskRole::Forgetting ? "Forgetting: general ability against the baseline"
                                                              : "Bias audit: counterfactual pairs"});
    if (role == TaskRole::Forgetting) {
      const std::vector<Regression> regressions = forgetting_regressions(run);
      std::string text = fmt::format("Flagged when perplexity rises by more than {:.0f}% or accuracy falls by more than "
                                     "{:.0f} points against {}. ",
                                     100 * run.thresholds.perplexity_rise, 100 * run.thresholds.accuracy_drop,
                                     run.models.front());
      if (regressions.empty()) text += "No model is flagged.";
      for (const Regression& r : regressions)
        text += fmt::format("{} regressed on {}: {} {:.4f} → {:.4f}. ", r.model, r.task, r.metric, r.baseline, r.value);
      d.blocks.push_back(Paragraph{text});
    }
    for (const TaskRuns& t : run.tasks)
      if (t.role == role) add_task(d, run, t);
  }
  return d;
}

}  // namespace whet
