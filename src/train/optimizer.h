#pragma once
// AdamW and SGD with momentum, computed as torch.optim computes them, so a run here
// and the same run in PyTorch take the same steps. Their state is a list of named
// float tensors, so a checkpoint can store it in safetensors and a resumed run
// continues bit for bit.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "io/tensor_view.h"
#include "train/parameter.h"
#include "train/train_config.h"  // OptimizerKind, declared once with the run's settings

namespace whet {

// Doubles, like torch's Python-float hyperparameters: its per-step scalars are
// computed in double and rounded to float only when they reach the kernel.
struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::AdamW;
  double beta1 = 0.9;         // AdamW (torch default)
  double beta2 = 0.999;       // AdamW (torch default)
  double eps = 1e-8;          // AdamW (torch default)
  double momentum = 0.9;      // SGD; dampening 0, no Nesterov
  // Hugging Face Trainer's default. AdamW decays decoupled from the gradient
  // (value -= lr*wd*value first); SGD adds wd*value to the gradient (L2).
  // Parameters with decay=false get none with either.
  double weight_decay = 0.0;
};

// The scalars of one AdamW update, rounded to float as torch rounds them.
struct AdamWCoefficients {
  float decay_factor;           // 1 - lr*weight_decay; 1 when the parameter does not decay
  float beta1, one_minus_beta1;
  float beta2, one_minus_beta2;
  float bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  float eps;
  float neg_step_size;          // -lr / (1 - beta1^step)
};
// step counts from 1 (the update being made).
AdamWCoefficients adamw_coefficients(const OptimizerConfig& config, double lr, int64_t step, bool decay);

// value, exp_avg, exp_avg_sq are (n), updated in place; grad is (n), read times
// grad_scale (clipping's factor, grad_clip.h). bf16_copy, if not null, receives each
// updated value rounded to bf16 (Parameter::bf16_copy), in the same pass; cleared,
// if not null (the gradient's own buffer), is zeroed in it too, each block right
// after it is read, for the next step's sums (a pass of its own over 540 MB of
// gradients was 5% of a full fine-tuning step).
void adamw_update(float* value, float* exp_avg, float* exp_avg_sq, const float* grad, int64_t n,
                  const AdamWCoefficients& c, float grad_scale = 1.0f, uint16_t* bf16_copy = nullptr,
                  float* cleared = nullptr);
void adamw_update_reference(float* value, float* exp_avg, float* exp_avg_sq, const float* grad, int64_t n,
                            const AdamWCoefficients& c, float grad_scale = 1.0f);

struct SgdCoefficients {
  float weight_decay;  // 0 when the parameter does not decay
  float momentum;
  float neg_lr;
  bool first_step;     // torch starts the momentum buffer as a copy of the first gradient
};
SgdCoefficients sgd_coefficients(const OptimizerConfig& config, double lr, int64_t step, bool decay);

// value, momentum_buffer are (n), updated in place; grad, bf16_copy and cleared as for adamw_update.
void sgd_update(float* value, float* momentum_buffer, const float* grad, int64_t n, const SgdCoefficients& c,
                float grad_scale = 1.0f, uint16_t* bf16_copy = nullptr, float* cleared = nullptr);
void sgd_update_reference(float* value, float* momentum_buffer, const float* grad, int64_t n,
                          const SgdCoefficients& c, float grad_scale = 1.0f);

class Optimizer {
 public:
  // Parameter names must be unique: they name the state tensors.
  Optimizer(std::vector<Parameter> params, const OptimizerConfig& config);

  // Updates every parameter from its gradient times grad_scale (clipping's factor),
  // and its bf16 copy where it has one, and leaves the gradients zero. lr is the
  // schedule's value for lr_at(..., step_count(), ...), i.e. for the number of
  // updates made before this one.
  void step(double lr, float grad_scale = 1.0f);
  int64_t step_count() const { return step_count_; }

  // "<parameter>.exp_avg" and "<parameter>.exp_avg_sq" (AdamW) or
  // "<parameter>.momentum_buffer" (SGD), as F32 of shape {numel}, in parameter order.
  // Views into the optimiser: valid while it lives, and hold the values until the next step().
  std::vector<TensorView> state() const;
  // Copies back state that state() produced for the same parameters and kind. Every
  // expected tensor must be present once, F32, with the parameter's size, and nothing
  // else; otherwise throws whet::Error naming the tensor and leaves the optimiser unchanged.
  void restore(int64_t step_count, const std::vector<TensorView>& tensors);

  // Every state tensor's values (in state()'s order) and the step count, writable
  // in place: for overwriting them with another copy of the same optimiser's
  // without a second copy in memory (a data-parallel resume takes rank 0's).
  struct MutableState {
    std::vector<std::span<float>> tensors;
    int64_t* step_count = nullptr;
  };
  MutableState mutable_state();

  const std::vector<Parameter>& parameters() const { return params_; }
  const OptimizerConfig& config() const { return config_; }

 private:
  struct StateTensor {
    std::string name;
    std::vector<float> data;
  };
  // state_[i * per_parameter_ + k] is the k-th state tensor of params_[i].
  std::vector<Parameter> params_;
  OptimizerConfig config_;
  int per_parameter_;
  std::vector<StateTensor> state_;
  int64_t step_count_ = 0;
};

}  // namespace whet
