// Each update follows torch 1.13's single-tensor CPU path statement by statement, down to
// its rounding: torch's AVX2 kernels fuse the multiply-adds of add_ and addcmul_ with a
// scalar (std::fma here), and round its separate products on their own (rounded_product
// here). No multiply is left for the compiler to fuse, so -ffp-contract cannot change the
// results or make the parallel kernels and their references differ.
#include "train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/dtype.h"
#include "core/error.h"
#include "core/phase_timer.h"

namespace whet {

namespace {

// Below this a parallel region costs more than the update (LoRA matrices can be a few thousand values).
constexpr int64_t kParallelMin = 1 << 14;
// Values per block: each block's bf16 copy is rounded while the block is still in cache.
constexpr int64_t kBlock = 1 << 12;

// update(begin, end) over [0, n) in blocks that the threads share, each block's
// values rounded into bf16_copy and its gradient cleared (when asked) right after,
// while still in cache.
template <typename Update>
void update_in_blocks(int64_t n, const float* value, uint16_t* bf16_copy, float* cleared, Update update) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t begin = 0; begin < n; begin += kBlock) {
    const int64_t end = std::min(n, begin + kBlock);
    update(begin, end);
    if (cleared) std::fill(cleared + begin, cleared + end, 0.0f);
    if (!bf16_copy) continue;
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) bf16_copy[i] = f32_to_bf16(value[i]);
  }
}

// a * b rounded on its own. Written as a * b, a following + could be fused into one fma
// (GCC's C++ default is -ffp-contract=fast); an fma with a -0 addend is exactly the
// rounded product, signed zeros included, and is never fused further.
inline float rounded_product(float a, float b) { return std::fma(a, b, -0.0f); }

}  // namespace

AdamWCoefficients adamw_coefficients(const OptimizerConfig& config, double lr, int64_t step, bool decay) {
  WHET_ASSERT(step >= 1);
  const double bias_correction1 = 1.0 - std::pow(config.beta1, double(step));
  const double bias_correction2 = 1.0 - std::pow(config.beta2, double(step));
  AdamWCoefficients c;
  c.decay_factor = decay ? float(1.0 - lr * config.weight_decay) : 1.0f;
  c.beta1 = float(config.beta1);
  c.one_minus_beta1 = float(1.0 - config.beta1);
  c.beta2 = float(config.beta2);
  c.one_minus_beta2 = float(1.0 - config.beta2);
  c.bias_correction2_sqrt = float(std::sqrt(bias_correction2));
  c.eps = float(config.eps);
  c.neg_step_size = float(-(lr / bias_correction1));
  return c;
}

void adamw_update(float* value, float* exp_avg, float* exp_avg_sq, const float* grad, int64_t n,
                  const AdamWCoefficients& coefficients, float grad_scale, uint16_t* bf16_copy, float* cleared) {
  const AdamWCoefficients c = coefficients;  // a copy: the vectoriser must not think stores to the arrays change it
  update_in_blocks(n, value, bf16_copy, cleared, [=](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float g = rounded_product(grad[i], grad_scale);
      const float m = std::fma(g, c.one_minus_beta1, exp_avg[i] * c.beta1);
      const float v = std::fma(c.one_minus_beta2 * g, g, exp_avg_sq[i] * c.beta2);
      const float denom = std::sqrt(v) / c.bias_correction2_sqrt + c.eps;
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      value[i] = rounded_product(value[i], c.decay_factor) + c.neg_step_size * m / denom;
    }
  });
}

void adamw_update_reference(float* value, float* exp_avg, float* exp_avg_sq, const float* grad, int64_t n,
                            const AdamWCoefficients& c, float grad_scale) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = rounded_product(grad[i], grad_scale);  // clip_grad_norm_: grad.mul_(clip_coef)
    // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
    exp_avg[i] = std::fma(g, c.one_minus_beta1, exp_avg[i] * c.beta1);
    // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    exp_avg_sq[i] = std::fma(c.one_minus_beta2 * g, g, exp_avg_sq[i] * c.beta2);
    // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
    const float denom = std::sqrt(exp_avg_sq[i]) / c.bias_correction2_sqrt + c.eps;
    // param.mul_(1 - lr * weight_decay), then param.addcdiv_(exp_avg, denom, value=-step_size)
    value[i] = rounded_product(value[i], c.decay_factor);
    value[i] = value[i] + c.neg_step_size * exp_avg[i] / denom;
  }
}

SgdCoefficients sgd_coefficients(const OptimizerConfig& config, double lr, int64_t step, bool decay) {
  WHET_ASSERT(step >= 1);
  return {decay ? float(config.weight_decay) : 0.0f, float(config.momentum), float(-lr), step == 1};
}

namespace {

// The first step is a separate loop: a per-element choice between the two ways of forming
// the buffer stops GCC 12 from vectorising. Coefficients by value, so the vectoriser need
// not assume that stores to the arrays change them.
template <bool kFirstStep>
void sgd_loop(float* value, float* momentum_buffer, const float* grad, int64_t n, const SgdCoefficients c,
              float grad_scale, uint16_t* bf16_copy, float* cleared) {
  update_in_blocks(n, value, bf16_copy, cleared, [=](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float g = rounded_product(grad[i], grad_scale);
      const float d = c.weight_decay != 0.0f ? std::fma(value[i], c.weight_decay, g) : g;
      float b = d;
      if constexpr (!kFirstStep) b = rounded_product(momentum_buffer[i], c.momentum) + d;
      momentum_buffer[i] = b;
      value[i] = std::fma(b, c.neg_lr, value[i]);
    }
  });
}

}  // namespace

void sgd_update(float* value, float* momentum_buffer, const float* grad, int64_t n, const SgdCoefficients& c,
                float grad_scale, uint16_t* bf16_copy, float* cleared) {
  if (c.first_step) {
    sgd_loop<true>(value, momentum_buffer, grad, n, c, grad_scale, bf16_copy, cleared);
  } else {
    sgd_loop<false>(value, momentum_buffer, grad, n, c, grad_scale, bf16_copy, cleared);
  }
}

void sgd_update_reference(float* value, float* momentum_buffer, const float* grad, int64_t n,
                          const SgdCoefficients& c, float grad_scale) {
  for (int64_t i = 0; i < n; ++i) {
    float d = rounded_product(grad[i], grad_scale);  // clip_grad_norm_: grad.mul_(clip_coef)
    // d_p = d_p.add(param, alpha=weight_decay)
    if (c.weight_decay != 0.0f) d = std::fma(value[i], c.weight_decay, d);
    if (c.first_step) {
      momentum_buffer[i] = d;  // buf = torch.clone(d_p)
    } else {
      momentum_buffer[i] = rounded_product(momentum_buffer[i], c.momentum) + d;  // buf.mul_(momentum).add_(d_p)
    }
    value[i] = std::fma(momentum_buffer[i], c.neg_lr, value[i]);  // param.add_(buf, alpha=-lr)
  }
}

Optimizer::Optimizer(std::vector<Parameter> params, const OptimizerConfig& config)
    : params_(std::move(params)), config_(config), per_parameter_(config.kind == OptimizerKind::AdamW ? 2 : 1) {
  const char* suffixes[2] = {".exp_avg", ".exp_avg_sq"};
  if (config_.kind == OptimizerKind::Sgd) suffixes[0] = ".momentum_buffer";
  std::unordered_set<std::string> names;
  for (const Parameter& p : params_) {
    WHET_ASSERT(p.value && p.grad && p.numel >= 0);
    WHET_ASSERT(names.insert(p.name).second);
    for (int k = 0; k < per_parameter_; ++k)
      state_.push_back({p.name + suffixes[k], std::vector<float>(p.numel, 0.0f)});
  }
}

void Optimizer::step(double lr, float grad_scale) {
  const PhaseScope phase("optimizer step");
  ++step_count_;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Parameter& p = params_[i];
    StateTensor* s = &state_[i * per_parameter_];
    if (config_.kind == OptimizerKind::AdamW) {
      adamw_update(p.value, s[0].data.data(), s[1].data.data(), p.grad, p.numel,
                   adamw_coefficients(config_, lr, step_count_, p.decay), grad_scale, p.bf16_copy, p.grad);
    } else {
      sgd_update(p.value, s[0].data.data(), p.grad, p.numel, sgd_coefficients(config_, lr, step_count_, p.decay),
                 grad_scale, p.bf16_copy, p.grad);
    }
  }
}

std::vector<TensorView> Optimizer::state() const {
  std::vector<TensorView> views;
  for (const StateTensor& s : state_) {
    const int64_t n = int64_t(s.data.size());
    views.push_back(
        {s.name, DType::F32, {n}, reinterpret_cast<const uint8_t*>(s.data.data()), s.data.size() * sizeof(float)});
  }
  return views;
}

Optimizer::MutableState Optimizer::mutable_state() {
  MutableState out{{}, &step_count_};
  for (StateTensor& s : state_) out.tensors.emplace_back(s.data);
  return out;
}

void Optimizer::restore(int64_t step_count, const std::vector<TensorView>& tensors) {
  constexpr std::string_view where = "optimizer state";
  if (step_count < 0) fail(where, "step count {} is negative", step_count);
  std::unordered_map<std::string_view, const TensorView*> by_name;
  for (const TensorView& t : tensors)
    if (!by_name.emplace(t.name, &t).second) fail(where, "tensor '{}' appears twice", t.name);
  std::vector<const TensorView*> sources;
  for (const StateTensor& s : state_) {
    auto it = by_name.find(s.name);
    if (it == by_name.end()) fail(where, "tensor '{}' is missing", s.name);
    const TensorView& t = *it->second;
    if (t.dtype != DType::F32) fail(where, "tensor '{}' is not F32", s.name);
    const size_t n = s.data.size();
    if (t.numel() != int64_t(n) || t.nbytes != n * sizeof(float))
      fail(where, "tensor '{}' has {} values, expected {}", s.name, t.numel(), n);
    sources.push_back(&t);
    by_name.erase(it);
  }
  for (const TensorView& t : tensors)
    if (by_name.count(t.name))
      fail(where, "unexpected tensor '{}': not state of this optimiser's parameters", t.name);
  // Mapped checkpoint data need not be float-aligned, so copy bytes.
  for (size_t i = 0; i < state_.size(); ++i)
    std::memcpy(state_[i].data.data(), sources[i]->data, sources[i]->nbytes);
  step_count_ = step_count;
}

}  // namespace whet
