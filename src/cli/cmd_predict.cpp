// whet predict: the label and label probabilities a trained classification
// head gives each prompt.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/evaluate.h"

namespace whet::cli {

namespace {

struct PredictOptions {
  ModelOptions model;
  std::string classifier, input, prompt, output;
};

void run_predict(const PredictOptions& o) {
  LoadedModel model = o.model.load();
  // A LoRA classification run writes its adapter beside the head: use it unless one was given.
  if (o.model.adapter.empty() && std::filesystem::exists(o.classifier + "/adapter_config.json"))
    model.adapter = load_adapter(o.classifier, model);
  const SequenceClassifier head = load_sequence_classifier(o.classifier, model.model.config.hidden_size);
  std::vector<TaskItem> items;
  if (!o.prompt.empty()) items.push_back(TaskItem{.line = 1, .prompt = o.prompt});
  else items = read_prompts(o.input);

  ProgressLine progress(fmt::format("predict {}", o.prompt.empty() ? o.input : "prompt"));
  const std::vector<ClassifierHeadResult> results =
      classify_items(model, head, items, [&](int64_t done, int64_t total) { progress.update(done, total, ""); });
  progress.finish();
  std::string out;
  int64_t correct = 0, labelled = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::vector<float>& p = results[i].probabilities;
    const size_t best = size_t(std::max_element(p.begin(), p.end()) - p.begin());
    nlohmann::json line = {{"line", items[i].line}, {"label", head.labels[best]}};
    for (size_t l = 0; l < p.size(); ++l) line["probabilities"][head.labels[l]] = p[l];
    if (!items[i].label.empty()) {
      line["reference"] = items[i].label;
      correct += items[i].label == head.labels[best];
      ++labelled;
    }
    out += line.dump() + "\n";
  }
  if (o.output.empty()) std::fwrite(out.data(), 1, out.size(), stdout);
  else write_file_atomic(o.output, out);
  if (labelled > 0)
    std::fprintf(stderr, "%lld of %lld labelled prompts right (accuracy %.4f)\n", (long long)correct,
                 (long long)labelled, double(correct) / double(labelled));
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "predict", "Label prompts with a trained classification head (a task_type seq_cls run's output folder)");
  auto o = std::make_shared<PredictOptions>();
  o->model.add_to(*command);
  command->add_option("--classifier", o->classifier,
                      "Folder with classifier_config.json and classifier.safetensors (and the run's adapter, if LoRA)")
      ->required();
  auto* input = command->add_option("--input", o->input, "JSONL of {\"prompt\" or \"messages\", \"label\"?} lines");
  auto* prompt = command->add_option("--prompt,-p", o->prompt, "One raw prompt to label");
  input->excludes(prompt);
  command->add_option("--output,-o", o->output, "Write the JSONL answers here instead of stdout");
  command->callback([o, input, prompt] {
    if (input->count() + prompt->count() == 0) fail("predict", "give --input FILE.jsonl or --prompt TEXT");
    run_predict(*o);
  });
}

}  // namespace whet::cli
