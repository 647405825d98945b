#include "eval/gate.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "core/atomic_file.h"
#include "eval/builtin_files.h"
#include "io/json_fields.h"

namespace whet {

namespace {

// Intervals are not shown by the gate and the paired test needs only the
// per-item scores, so the scoring itself takes the default options.
EvalOptions gate_options() { return EvalOptions{}; }

GateCheck compare(const TaskResult& base, const TaskResult& tuned, const std::string& task,
                  const ForgettingThresholds& thresholds, bool gated, double significance) {
  const Metric& before = base.metrics.front();
  const Metric& after = tuned.metrics.front();
  GateCheck c{task, before.name, before.value, after.value};
  const bool perplexity = !before.higher_is_better;
  c.change = perplexity ? after.value / before.value - 1.0 : after.value - before.value;
  c.gated = gated;
  if (gated) {
    c.limit = perplexity ? thresholds.perplexity_rise : -thresholds.accuracy_drop;
    c.beyond_limit = perplexity ? c.change > c.limit : c.change < c.limit;
  }
  // A model that no longer gives finite scores (a diverged run) has lost everything.
  if (!std::isfinite(after.value)) {
    c.beyond_limit = c.failed = gated;
    c.p_worse = 0;
    return c;
  }
  c.p_worse = paired_p_value(base, tuned, before.name, gate_options());
  c.failed = c.beyond_limit && c.p_worse < significance;
  return c;
}

std::string change_text(const GateCheck& c) {
  return c.metric == "perplexity" ? fmt::format("{:+.1f}%", 100 * c.change) : fmt::format("{:+.3f}", c.change);
}

std::string limit_text(const GateCheck& c) {
  return c.metric == "perplexity" ? fmt::format("{:+.0f}%", 100 * c.limit) : fmt::format("{:+.3f}", c.limit);
}

std::string check_line(const GateCheck& c) {
  std::string line = fmt::format("{} {}: {:.4g} -> {:.4g} ({}", c.task, c.metric, c.base, c.tuned, change_text(c));
  if (c.gated) line += ", limit " + limit_text(c);
  line += fmt::format(", p {:.3f})", c.p_worse);
  if (c.failed) return line + ": FAILED";
  if (c.beyond_limit) return line + ": beyond the limit but within noise";
  return line;
}

nlohmann::json check_json(const GateCheck& c) {
  return {{"task", c.task},   {"metric", c.metric},   {"base", c.base},
          {"tuned", c.tuned}, {"change", c.change},   {"gated", c.gated}, {"limit", c.limit},
          {"p_worse", c.p_worse}, {"beyond_limit", c.beyond_limit}, {"failed", c.failed}};
}

}  // namespace

GateScores score_for_gate(const LoadedModel& model, const std::string& name, const Task* task,
                          const SequenceClassifier* classifier) {
  GateScores scores;
  for (std::string_view file : {kGeneralText, kGeneralQuestions}) {
    const Task general = parse_task(std::string(file), builtin_file(file));
    scores.general.push_back(evaluate_task(model, name, general, gate_options()));
  }
  if (task) {
    EvalOptions options = gate_options();
    options.classifier = classifier;
    scores.task = evaluate_task(model, name, *task, options);
  }
  return scores;
}

GateVerdict judge_forgetting(const GateScores& base, const GateScores& tuned, const ForgettingThresholds& thresholds,
                             double significance) {
  WHET_ASSERT(base.general.size() == tuned.general.size());
  GateVerdict v{true, {}, std::nullopt, thresholds, significance};
  const std::vector<std::string_view> files = {kGeneralText, kGeneralQuestions};
  for (size_t i = 0; i < base.general.size(); ++i) {
    v.general.push_back(
        compare(base.general[i], tuned.general[i], std::string(files[i]), thresholds, true, significance));
    if (v.general.back().failed) v.passed = false;
  }
  if (base.task && tuned.task)
    v.task = compare(*base.task, *tuned.task, "task", thresholds, false, significance);
  return v;
}

std::string describe(const GateVerdict& verdict) {
  std::string out = fmt::format("forgetting gate: {}", verdict.passed ? "passed" : "FAILED");
  for (const GateCheck& c : verdict.general) out += "\n  " + check_line(c);
  if (verdict.task) out += "\n  " + check_line(*verdict.task);
  return out;
}

nlohmann::json gate_json(const GateVerdict& verdict) {
  nlohmann::json j = {{"passed", verdict.passed},
                      {"perplexity_rise", verdict.thresholds.perplexity_rise},
                      {"accuracy_drop", verdict.thresholds.accuracy_drop},
                      {"significance", verdict.significance},
                      {"checks", nlohmann::json::array()}};
  for (const GateCheck& c : verdict.general) j["checks"].push_back(check_json(c));
  if (verdict.task) j["task"] = check_json(*verdict.task);
  return j;
}

std::string gate_verdict_path(const std::string& dir) { return dir + "/gate.json"; }

void write_gate_verdict(const std::string& dir, const GateVerdict& verdict) {
  write_file_atomic(gate_verdict_path(dir), gate_json(verdict).dump(2) + "\n");
}

std::optional<GateRecord> read_gate_verdict(const std::string& dir) {
  const std::string path = gate_verdict_path(dir);
  if (!std::filesystem::exists(path)) return std::nullopt;
  const nlohmann::json j = read_json_object(path);
  const Fields fields(path, j);
  if (!fields.has("passed")) fail(path, "passed: missing; this is not a gate verdict");
  GateRecord record{fields.boolean("passed", false), ""};
  for (const nlohmann::json& c : fields.array("checks")) {
    if (!c.is_object() || !c.value("failed", false)) continue;
    if (!record.reason.empty()) record.reason += "; ";
    record.reason += fmt::format("{} {} {:.4g} -> {:.4g}", c.value("task", "?"), c.value("metric", "?"),
                                 c.value("base", 0.0), c.value("tuned", 0.0));
  }
  return record;
}

}  // namespace whet
