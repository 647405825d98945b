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

// The models of a task that do not beat its best trivial baseline, metric by metric.
std::vector<BelowBaseline> task_below_baselines(const TaskRuns& t) {
  std::vector<BelowBaseline> out;
  for (const TaskResult& r : t.results) {
    for (const Metric& m : r.metrics) {
      const auto better = [&](double a, double b) { return m.higher_is_better ? a > b : a < b; };
      const TrivialBaseline* best = nullptr;
      double best_value = 0;
      for (const TrivialBaseline& b : t.baselines) {
        const Metric* bm = find_metric(b.result, m.name);
        if (bm && (!best || better(bm->value, best_value))) best = &b, best_value = bm->value;
      }
      if (best && !better(m.value, best_value))
        out.push_back({r.model, t.task.path, m.name, best->result.model, m.value, best_value});
    }
  }
  return out;
}

bool beats_baselines(const std::vector<BelowBaseline>& below, const std::string& model) {
  return std::none_of(below.begin(), below.end(), [&](const BelowBaseline& b) { return b.model == model; });
}

json metric_json(const Metric& m) {
  return {{"value", m.value}, {"low", m.interval.low}, {"high", m.interval.high}, {"higher_is_better", m.higher_is_better}};
}

// A few-shot example as its file had it: the line, the prompt and the right answer.
json shot_json(const TaskItem& shot, TaskKind kind) {
  json j = {{"line", shot.line}};
  if (shot.messages.empty()) {
    j["prompt"] = shot.prompt;
  } else {
    j["messages"] = json::array();
    for (const ChatMessage& m : shot.messages) j["messages"].push_back({{"role", m.role}, {"content", m.content}});
  }
  j["answer"] = reference_answer(shot, kind);
  return j;
}

json result_json(const TaskResult& r) {
  json j = {{"model", r.model},          {"few_shot", r.shots.size()}, {"shots", json::array()},
            {"seconds", r.seconds},      {"metrics", json::object()},  {"predictions", r.predictions}};
  for (const TaskItem& shot : r.shots) j["shots"].push_back(shot_json(shot, r.kind));
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

// The task's metrics, one row per model (marked by whether it beats the trivial
// baselines, when the task has them) and one per trivial baseline; a bar chart of the headline.
void add_results_table(Document& d, const EvalRun& run, const TaskRuns& t, const std::vector<BelowBaseline>& below) {
  Table table;
  table.header = {"model"};
  for (const Metric& m : t.results.front().metrics)
    table.header.push_back(m.name + (m.higher_is_better ? " ↑" : " ↓") + fmt::format(" [{:.0f}% CI]", 100 * run.options.level));
  table.header.push_back("seconds");
  const bool judged = !t.baselines.empty();
  if (judged) table.header.push_back("beats trivial baselines");
  BarChart chart{t.results.front().metrics.front().name, {}, {}};
  for (const TaskResult& r : t.results) {
    std::vector<std::string> row{r.model};
    for (const Metric& m : r.metrics) row.push_back(with_interval(m));
    row.push_back(fmt::format("{:.1f}", r.seconds));
    if (judged) row.push_back(beats_baselines(below, r.model) ? "yes" : "NO ⚠");
    table.rows.push_back(row);
    chart.labels.push_back(r.model);
    chart.values.push_back(r.metrics.front().value);
  }
  for (const TrivialBaseline& b : t.baselines) {
    std::vector<std::string> row{b.result.model};
    for (const Metric& m : b.result.metrics) row.push_back(with_interval(m));
    row.insert(row.end(), {"", "trivial baseline"});
    table.rows.push_back(row);
  }
  d.blocks.push_back(table);
  d.blocks.push_back(chart);
}

// How the trivial baselines were made, and a warning line per model below them.
void add_baseline_notes(Document& d, const TaskRuns& t, const std::vector<BelowBaseline>& below) {
  if (t.baselines.empty()) return;
  std::string text = "Trivial baselines: a model is marked NO ⚠ when, on some metric, it does not beat the better of them.";
  for (const TrivialBaseline& b : t.baselines) text += " " + b.basis + ".";
  d.blocks.push_back(Paragraph{text});
  for (const std::string& line : below_baseline_warnings(below)) d.blocks.push_back(Paragraph{line});
}

// The lines of the few-shot file each few-shot row placed before every item.
void add_shot_lists(Document& d, const EvalRun& run, const TaskRuns& t) {
  for (const TaskResult& r : t.results) {
    if (r.shots.empty()) continue;
    std::vector<size_t> lines;
    for (const TaskItem& shot : r.shots) lines.push_back(shot.line);
    const bool one = lines.size() == 1;
    d.blocks.push_back(Paragraph{fmt::format("{}: {} example{} before every item, line{} {} of {} (in that order).",
                                             r.model, r.shots.size(), one ? "" : "s", one ? "" : "s",
                                             fmt::join(lines, ", "), run.few_shot_from)});
  }
}

void add_task(Document& d, const EvalRun& run, const TaskRuns& t) {
  d.blocks.push_back(Heading{fmt::format("{} ({}, {} items)", t.task.path, task_kind_name(t.task.kind),
                                         t.task.items.size()),
                             3});
  const std::vector<BelowBaseline> below = task_below_baselines(t);
  add_results_table(d, run, t, below);
  add_baseline_notes(d, t, below);
  add_shot_lists(d, run, t);
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

std::vector<BelowBaseline> below_trivial_baselines(const EvalRun& run) {
  std::vector<BelowBaseline> out;
  for (const TaskRuns& t : run.tasks) {
    const std::vector<BelowBaseline> below = task_below_baselines(t);
    out.insert(out.end(), below.begin(), below.end());
  }
  return out;
}

std::vector<std::string> below_baseline_warnings(const std::vector<BelowBaseline>& below) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < below.size(); ++i) {
    const BelowBaseline& b = below[i];
    const bool continues = i > 0 && below[i - 1].model == b.model && below[i - 1].task == b.task;
    if (!continues) lines.push_back(fmt::format("WARNING: {} does not beat a trivial baseline on {}:", b.model, b.task));
    lines.back() += fmt::format("{} {} {:.4f} against {:.4f} of {}", continues ? ";" : "", b.metric, b.value,
                                b.baseline_value, b.baseline);
  }
  for (std::string& line : lines) line += ".";
  return lines;
}

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
            {"few_shot", run.few_shot},
            {"few_shot_from", run.few_shot_from},
            {"tasks", json::array()}};
  for (const TaskRuns& t : run.tasks) {
    json task = {{"path", t.task.path}, {"kind", task_kind_name(t.task.kind)}, {"role", role_name(t.role)},
                 {"items", t.task.items.size()}, {"results", json::array()}, {"comparisons", json::array()}};
    const std::vector<BelowBaseline> below = task_below_baselines(t);
    for (const TaskResult& r : t.results) {
      task["results"].push_back(result_json(r));
      if (!t.baselines.empty()) task["results"].back()["beats_trivial_baselines"] = beats_baselines(below, r.model);
    }
    if (!t.baselines.empty()) task["baselines"] = json::array();
    for (const TrivialBaseline& b : t.baselines) {
      json baseline = {{"name", b.result.model}, {"basis", b.basis}, {"metrics", json::object()}};
      for (const Metric& m : b.result.metrics) baseline["metrics"][m.name] = metric_json(m);
      task["baselines"].push_back(baseline);
    }
    for (const Comparison& c : comparisons(run, t))
      task["comparisons"].push_back({{"model", c.model}, {"baseline", c.baseline}, {"metric", c.metric},
                                     {"baseline_value", c.baseline_value}, {"value", c.value}, {"p_value", c.p_value}});
    j["tasks"].push_back(task);
  }
  j["classification_heads"] = json::object();  // row: the language model under the head
  for (const auto& [head, language_model] : run.heads) j["classification_heads"][head] = language_model;
  j["below_trivial_baselines"] = json::array();
  for (const BelowBaseline& b : below_trivial_baselines(run))
    j["below_trivial_baselines"].push_back({{"model", b.model}, {"task", b.task}, {"metric", b.metric}, {"value", b.value},
                                            {"baseline", b.baseline}, {"baseline_value", b.baseline_value}});
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
      for (const auto& [head, language_model] : run.heads)
        text += fmt::format(" {} is a classification head, which leaves the language model unchanged: its rows are "
                            "measured on the model under it, {}.",
                            head, language_model);
      d.blocks.push_back(Paragraph{text});
    }
    for (const TaskRuns& t : run.tasks)
      if (t.role == role) add_task(d, run, t);
  }
  return d;
}

}  // namespace whet
