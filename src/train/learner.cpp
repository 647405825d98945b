#include "train/learner.h"

#include <algorithm>

namespace whet {

OptimizerConfig optimizer_config(const TrainConfig& c) {
  OptimizerConfig o;
  o.kind = c.optimizer;
  o.beta1 = c.adam_beta1;
  o.beta2 = c.adam_beta2;
  o.eps = c.adam_epsilon;
  o.momentum = c.momentum;
  o.weight_decay = c.weight_decay;
  return o;
}

Learner make_learner(LoadedModel& loaded, const TrainConfig& config, int first_trainable_block,
                     ClassifierTraining* classifier) {
  TrainableState trainable = make_trainable(loaded, config, first_trainable_block, classifier);
  Optimizer optimizer(trainable.parameters, optimizer_config(config));
  return Learner{std::move(trainable), std::move(optimizer)};
}

void carry_optimizer_state(const Optimizer& from, Optimizer& to) {
  const std::vector<TensorView> old_state = from.state();
  std::vector<std::vector<float>> zeros;  // backs the views of the new parameters' state until restore copies it
  std::vector<TensorView> carried;
  for (const TensorView& fresh : to.state()) {
    auto it = std::find_if(old_state.begin(), old_state.end(), [&](const TensorView& o) { return o.name == fresh.name; });
    if (it != old_state.end()) {
      carried.push_back(*it);
    } else {
      zeros.emplace_back(fresh.numel(), 0.0f);
      carried.push_back(TensorView{fresh.name, DType::F32, fresh.shape,
                                   reinterpret_cast<const uint8_t*>(zeros.back().data()), fresh.nbytes});
    }
  }
  to.restore(from.step_count(), carried);
}

}  // namespace whet
