#include "train/classification_data.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "core/error.h"
#include "data/shuffle.h"
#include "eval/evaluate.h"

namespace whet {
namespace {

std::vector<Task> read_labelled(const std::vector<std::string>& paths) {
  std::vector<Task> tasks;
  for (const std::string& path : paths) {
    tasks.push_back(read_task(path));
    if (tasks.back().kind != TaskKind::Classification)
      fail(path, "task_type seq_cls needs labelled lines ({{\"prompt\" or \"messages\", \"label\"}}), not {}",
           task_kind_name(tasks.back().kind));
  }
  return tasks;
}

std::vector<TrainingSequence> sequences_of(const std::vector<Task>& tasks, const std::vector<std::string>& labels,
                                           const TrainConfig& config, const LoadedModel& model) {
  std::vector<TrainingSequence> out;
  for (const Task& task : tasks) {
    for (const TaskItem& item : task.items) {
      const auto label = std::find(labels.begin(), labels.end(), item.label);
      if (label == labels.end())
        fail(fmt::format("{}:{}", task.path, item.line), "label '{}' does not occur in train_data ({})", item.label,
             fmt::join(labels, ", "));
      TrainingSequence s;
      s.ids = prompt_tokens(model, item);
      if (int64_t(s.ids.size()) > config.sequence_len)
        fail(fmt::format("{}:{}", task.path, item.line), "{} tokens, longer than sequence_len {}", s.ids.size(),
             config.sequence_len);
      s.targets.assign(s.ids.size(), -1);
      s.positions.resize(s.ids.size());
      std::iota(s.positions.begin(), s.positions.end(), 0);
      s.segment_begin.assign(s.ids.size(), 0);
      s.label = int32_t(label - labels.begin());
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace

ClassificationData load_classification_data(const TrainConfig& config, const LoadedModel& model) {
  if (config.val_set_size > 0)
    fail("val_set_size", "task_type seq_cls takes its validation examples from val_data");
  const std::vector<Task> train = read_labelled(config.train_data), validation = read_labelled(config.val_data);
  std::set<std::string> labels;
  for (const Task& task : train) labels.insert(task.labels.begin(), task.labels.end());
  ClassificationData data;
  data.labels.assign(labels.begin(), labels.end());
  data.train = sequences_of(train, data.labels, config, model);
  data.validation = sequences_of(validation, data.labels, config, model);
  const std::vector<size_t> order = shuffled_order(data.train.size(), uint64_t(config.seed));
  std::vector<TrainingSequence> shuffled;
  for (size_t i : order) shuffled.push_back(std::move(data.train[i]));
  data.train = std::move(shuffled);
  data.summary = fmt::format("Classification: {} labels ({}); {} training and {} validation examples", labels.size(),
                             fmt::join(data.labels, ", "), data.train.size(), data.validation.size());
  return data;
}

}  // namespace whet
