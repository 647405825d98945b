#pragma once
// The reward models a server scores with (POST /v1/score), loaded at start by
// `whet serve --reward-model NAME=DIR` and added by reward jobs as they finish:
// DIR is what `whet train --method reward` wrote, a one-output head
// (classifier_config.json) with the LoRA adapter it trained beside it, over the
// served base; or, after full fine-tuning, beside the model it trained, which
// is loaded as its own. They stay for the server's life; one scoring at a time
// per model (the answers are short, and the decoding engine keeps the cores
// busy besides). Thread-safe: a model added while others score.
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
  // What a reward job trained, in `dir`; throws whet::Error naming the folder.
  void add(const std::string& name, const std::string& dir, const LoadedModel& base);
  // Whether `dir` holds a head that scores (a reward model) rather than an adapter alone.
  static bool holds_reward_model(const std::string& dir);
  bool has(const std::string& name) const;
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
    std::mutex scoring;
  };
  std::shared_ptr<Model> find(const std::string& name) const;

  mutable std::mutex mutex_;  // guards the map; a model scores under its own lock
  std::map<std::string, std::shared_ptr<Model>> models_;
};

}  // namespace whet::serve
