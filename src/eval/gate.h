#pragma once
// The evaluation gate: after fine-tuning, the tuned model's general ability is
// measured on the built-in general tasks (text perplexity and four-way
// questions) beside the base model's, and the run fails the gate when the loss
// is both larger than the thresholds and real, i.e. the paired bootstrap says
// the tuned model is worse at the significance level. A task file, when given,
// is scored on both too, so the verdict shows what the loss bought.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/evaluate.h"
#include "eval/report.h"  // ForgettingThresholds

namespace whet {

// A model's scores on the gate's tasks: the general tasks, then the user's task if any.
struct GateScores {
  std::vector<TaskResult> general;
  std::optional<TaskResult> task;
};

// The general tasks (built in) and, when task is not null, the user's task,
// scored by `model` as loaded (its adapter, if any, applied); a classification
// task by `classifier` when one is given.
GateScores score_for_gate(const LoadedModel& model, const std::string& name, const Task* task,
                          const SequenceClassifier* classifier = nullptr);

// One metric, base against tuned.
struct GateCheck {
  std::string task, metric;
  double base = 0, tuned = 0;
  double change = 0;      // relative for perplexity (+0.41 = 41% higher), absolute for accuracy
  bool gated = false;     // false for the user's task: reported, not judged
  double limit = 0;       // the threshold the change is held to
  double p_worse = 1;     // paired bootstrap: share of resamples in which the base is not better than the tuned model
  bool beyond_limit = false, failed = false;
};

struct GateVerdict {
  bool passed = true;
  std::vector<GateCheck> general;  // what is gated
  std::optional<GateCheck> task;   // the user's task, for the record
  ForgettingThresholds thresholds;
  double significance = 0.05;
};

// Compares the scores of the tuned model with those of the base on the same items.
GateVerdict judge_forgetting(const GateScores& base, const GateScores& tuned, const ForgettingThresholds& thresholds,
                             double significance = 0.05);

// One line per check, e.g. "general text perplexity 12.58 -> 17.72 (+40.9%, limit +10%, p 0.000): FAILED".
std::string describe(const GateVerdict& verdict);
nlohmann::json gate_json(const GateVerdict& verdict);

// The verdict written into a run or output folder (gate.json), read back when
// the folder is served: whether it passed and, if not, why.
struct GateRecord {
  bool passed = true;
  std::string reason;  // the failed checks, one line each
};
std::string gate_verdict_path(const std::string& dir);  // DIR/gate.json
void write_gate_verdict(const std::string& dir, const GateVerdict& verdict);
// nullopt when DIR has no gate.json; whet::Error naming the file when it is not a verdict.
std::optional<GateRecord> read_gate_verdict(const std::string& dir);

}  // namespace whet
