#include "eval/pipeline_model.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "core/error.h"
#include "eval/evaluate.h"
#include "generate/generator.h"
#include "generate/prompt.h"
#include "models/lora_files.h"

namespace whet {
namespace {

// Long enough for synthesis prompts (a few retrieved chunks) and their answers,
// small enough that the key/value cache stays modest on the default model.
constexpr int64_t kGenerationContext = 4096;

std::vector<double> softmax(const std::vector<double>& logits) {
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p;
  double sum = 0;
  for (double l : logits) sum += p.emplace_back(std::exp(l - top));
  for (double& v : p) v /= sum;
  return p;
}

std::vector<std::optional<std::string>> generate_replies(const LoadedModel& model,
                                                         const std::vector<GenerationRequest>& requests,
                                                         const StageProgress& progress) {
  std::vector<std::optional<std::string>> replies;
  if (requests.empty()) return replies;
  if (!model.chat_template) fail(model.path, "has no chat template Whet recognises; model-based data stages need a chat model");
  const int64_t context = std::min<int64_t>(scoring_context(model), kGenerationContext);
  Session session(model.model, context);
  for (const GenerationRequest& request : requests) {
    const std::vector<int32_t> prompt = chat_prompt_tokens(model, {{"user", request.user}});
    if (int64_t(prompt.size()) + 1 >= context) {
      replies.emplace_back();
    } else {
      GenerationOptions options;
      options.sampling.temperature = float(request.temperature);
      options.sampling.seed = request.seed;
      options.max_tokens = int(std::min<int64_t>(request.max_tokens, context - int64_t(prompt.size())));
      replies.push_back(generate(model, session, prompt, options).text);
    }
    if (progress) progress(replies.size(), requests.size());
  }
  return replies;
}

// Whether the prompt and the longest label fit the model's context, with room
// for the template's end-of-answer tokens.
bool fits(const LoadedModel& model, const TaskItem& item, size_t longest_label) {
  return int64_t(prompt_tokens(model, item).size() + longest_label + 4) <= scoring_context(model);
}

}  // namespace

TaskItem record_prompt_item(const Record& record) {
  const Example& e = record.example;
  TaskItem item;
  item.line = e.line;
  if (e.format == DataFormat::Completion) {
    item.prompt = e.prompt;
    return item;
  }
  if (e.format == DataFormat::Text) fail(e.where(), "a text record has no prompt to label");
  item.messages = e.messages;
  if (!item.messages.empty() && item.messages.back().role == "assistant") item.messages.pop_back();
  return item;
}

StageModel bind_stage_model(const LoadedModel& model, const std::string& classifier_dir) {
  StageModel bound;
  bound.generate = [&model](const std::vector<GenerationRequest>& requests, const StageProgress& progress) {
    return generate_replies(model, requests, progress);
  };
  std::shared_ptr<const SequenceClassifier> head;
  if (!classifier_dir.empty()) {
    head = std::make_shared<const SequenceClassifier>(
        load_sequence_classifier(classifier_dir, model.model.config.hidden_size));
    bound.head_labels = head->labels;
  }
  bound.label_probabilities = [&model, head](const std::vector<const Record*>& records,
                                             const std::vector<std::string>& labels, const StageProgress& progress) {
    size_t longest_label = 0;
    for (const std::string& label : labels)
      longest_label = std::max(longest_label, model.tokenizer.encode(" " + label, false).size());
    std::vector<TaskItem> items;
    std::vector<size_t> fitting;  // indices into records
    for (size_t i = 0; i < records.size(); ++i) {
      TaskItem item = record_prompt_item(*records[i]);
      if (!fits(model, item, head ? 0 : longest_label)) continue;
      items.push_back(std::move(item));
      fitting.push_back(i);
    }
    const EvalProgress eval_progress = [&](int64_t done, int64_t total) {
      if (progress) progress(size_t(done), size_t(total));
    };
    std::vector<std::vector<double>> scored;
    if (head) {
      WHET_ASSERT(labels == head->labels);
      for (const ClassifierHeadResult& r : classify_items(model, *head, items, eval_progress))
        scored.emplace_back(r.probabilities.begin(), r.probabilities.end());
    } else {
      for (const std::vector<double>& loglik :
           choice_loglikelihoods(model, items, TaskKind::Classification, labels, {}, eval_progress))
        scored.push_back(softmax(loglik));
    }
    std::vector<std::vector<double>> out(records.size());  // empty rows for what did not fit
    for (size_t k = 0; k < fitting.size(); ++k) out[fitting[k]] = std::move(scored[k]);
    return out;
  };
  return bound;
}

ModelOpener pipeline_model_opener(WeightFormat weights) {
  // Shared by every copy of the opener; models stay put while stages hold references.
  auto loaded = std::make_shared<std::map<std::string, std::unique_ptr<LoadedModel>>>();
  return [loaded, weights](ModelRef ref) {
    // A LoRA classification run writes its adapter beside the head, as `whet predict` expects.
    if (ref.adapter.empty() && !ref.classifier.empty() && std::filesystem::exists(ref.classifier + "/adapter_config.json"))
      ref.adapter = ref.classifier;
    std::unique_ptr<LoadedModel>& model = (*loaded)[ref.path + "\n" + ref.adapter];
    if (!model) {
      model = std::make_unique<LoadedModel>(load_model(ref.path, weights));
      if (!ref.adapter.empty())
        model->adapter = std::make_shared<const LlamaLora>(load_lora_adapter(ref.adapter, model->model.config));
    }
    return bind_stage_model(*model, ref.classifier);
  };
}

}  // namespace whet
