#pragma once
// The reward models a server scores with (POST /v1/score), loaded at start by
// `whet serve --reward-model NAME=DIR`: DIR is what `whet train --method reward`
// wrote, a one-output head (classifier_config.json) with the LoRA adapter it
// trained beside it, over the served base; or, after full fine-tuning, beside
// the model it trained, which is loaded as its own. They stay for the
// server's life; one scoring at a time per model (the answers are short, and
// the decoding engine keeps the cores busy besides).
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "models/model_loader.h"
#include "models/sequence_classifier.h"
#include "serve/score_request.h"

namespace whet::serve {

struct ScoreResult {
  std::vector<double> scores;  // per input, in order
  int64_t tokens = 0;          // scored, all inputs together
};

class RewardModels {
 public:
  // NAME=DIR on `base`; throws whet::Error naming the flag, the folder and what is wrong.
  void add(const std::string& spec, const LoadedModel& base);
  bool empty() const { return models_.empty(); }
  std::vector<std::string> names() const;
  // Throws ApiError: 404 for a model not loaded, 400 naming input[i] for an
  // input its template cannot render or longer than the model's context.
  ScoreResult score(const ScoreRequest& request) const;

 private:
  struct Model {
    const LoadedModel* model = nullptr;  // the served base, or `own`
    std::unique_ptr<LoadedModel> own;
    std::shared_ptr<const LlamaLora> adapter;
    SequenceClassifier head;
    std::unique_ptr<std::mutex> scoring;
  };
  std::map<std::string, Model> models_;
};

}  // namespace whet::serve
