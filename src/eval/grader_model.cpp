// score_model: a reward model's score. The model is the run's base with a
// sequence-classification head (models/sequence_classifier.h) from `model`, a
// folder holding classifier_config.json and classifier.safetensors; it reads
// the prompt's tokens and the completion's, as a reward model is trained on a
// prompt and an answer. A head with one output gives its raw score (a
// Bradley–Terry reward); a head with several labels gives the probability of `label`.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "eval/grader_spec.h"
#include "models/sequence_classifier.h"

namespace whet {

namespace {

class ScoreModelGrader : public Grader {
 public:
  ScoreModelGrader(const GraderSpec& spec, const GraderContext& context) : model_(context.model) {
    spec.only({"model", "label"});
    if (context.from_client) spec.reject("type", "a score_model grader reads a head from the server's folders; a client's grader may not");
    if (!model_) spec.reject("type", "score_model needs the base model the head was trained on, which this use does not load");
    const std::filesystem::path dir = std::filesystem::path(context.folder) / spec.text("model");
    head_ = load_sequence_classifier(dir.string(), model_->model.config.hidden_size);
    if (head_.labels.size() > 1) {
      label_ = head_.label_index(spec.text("label"));
      if (label_ < 0) spec.reject("label", fmt::format("not a label of the head in {}", dir.string()));
    } else if (spec.has("label")) {
      spec.reject("label", "the head has one output, a score; label picks one of several");
    }
  }

  Grade grade(const GradeInput& in) override {
    std::vector<int32_t> ids(in.prompt_tokens.begin(), in.prompt_tokens.end());
    ids.insert(ids.end(), in.output_tokens.begin(), in.output_tokens.end());
    if (ids.empty()) fail("score_model", "nothing to score: no prompt or completion tokens");
    LlamaActivations acts(model_->model.config, int64_t(ids.size()), 0);
    const std::vector<float> h = llama_pooled_hidden(model_->model, nullptr, acts, ids, head_.pooling);
    std::vector<double> logits(head_.labels.size());
    for (size_t l = 0; l < logits.size(); ++l) {
      double sum = head_.bias[l];
      for (int64_t j = 0; j < head_.hidden; ++j) sum += double(head_.weight[l * size_t(head_.hidden) + size_t(j)]) * h[size_t(j)];
      logits[l] = sum;
    }
    if (logits.size() == 1) return {logits[0]};
    const double top = *std::max_element(logits.begin(), logits.end());
    double denom = 0;
    for (double z : logits) denom += std::exp(z - top);
    return {std::exp(logits[size_t(label_)] - top) / denom};
  }

 private:
  const LoadedModel* model_;
  SequenceClassifier head_;
  int label_ = 0;
};

}  // namespace

std::unique_ptr<Grader> make_score_model_grader(const GraderSpec& spec, const GraderContext& context) {
  return std::make_unique<ScoreModelGrader>(spec, context);
}

}  // namespace whet
