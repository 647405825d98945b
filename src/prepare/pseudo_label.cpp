#include "prepare/pseudo_label.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "prepare/stages.h"

namespace whet {
namespace {

bool unlabelled(const Record& r, const PipelineConfig& config) {
  return config.sources[r.source].role == SourceRole::Unlabelled;
}

}  // namespace

void collect_given_labels(const std::vector<Record>& records, const PipelineConfig& config, std::set<std::string>& labels) {
  if (config.label_field.empty()) return;
  for (const Record& r : records)
    if (!unlabelled(r, config) && !r.train_only && !label_of(r, config.label_field).empty())
      labels.insert(label_of(r, config.label_field));
}

std::vector<std::string> pseudo_label_choices(const std::set<std::string>& given, const PipelineConfig& config,
                                              const StageModel& model) {
  std::vector<std::string> labels = !model.head_labels.empty()    ? model.head_labels
                                    : !config.pseudo_label.labels.empty() ? config.pseudo_label.labels
                                                                          : config.filter.labels;
  if (labels.empty()) labels.assign(given.begin(), given.end());
  if (labels.size() < 2)
    fail(config.path, "pseudo_label.labels: {} label(s) to choose from; list the labels (or give labelled sources)",
         labels.size());
  return labels;
}

void pseudo_label_stage(std::vector<Record>& records, const std::set<std::string>& given, const PipelineConfig& config,
                        const StageModel& model, Ledger& ledger, const StageProgress& progress) {
  ledger.begin(stage_name(Stage::PseudoLabel), records.size());
  std::vector<const Record*> pool;
  for (const Record& r : records)
    if (unlabelled(r, config)) pool.push_back(&r);
  const std::vector<std::string> labels = pseudo_label_choices(given, config, model);
  const std::vector<std::vector<double>> probabilities = model.label_probabilities(pool, labels, progress);
  WHET_ASSERT(probabilities.size() == pool.size());

  std::vector<Reason> reasons(records.size());
  size_t next = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    Record& r = records[i];
    if (!unlabelled(r, config)) continue;
    const std::vector<double>& p = probabilities[next++];
    if (p.empty()) {
      reasons[i] = {"too long for the labelling model's context", ""};
      continue;
    }
    const size_t best = size_t(std::max_element(p.begin(), p.end()) - p.begin());
    if (p[best] < config.pseudo_label.threshold) {
      reasons[i] = {"below the confidence threshold",
                    fmt::format("'{}' at {:.3f} < {}", labels[best], p[best], config.pseudo_label.threshold)};
      continue;
    }
    set_label(r, config.label_field, labels[best]);
    r.train_only = true;
    // Rounded so that the output does not carry noise from the last bits of the arithmetic.
    r.pseudo_label_confidence = std::round(p[best] * 1e4) / 1e4;
    ledger.change(r, fmt::format("pseudo-labelled '{}'", labels[best]), fmt::format("at {:.4f}", r.pseudo_label_confidence));
  }
  drop_marked(records, ledger, reasons);
  ledger.end(records.size());
}

}  // namespace whet
