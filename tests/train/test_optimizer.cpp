// Optimisers and gradient clipping: every update against PyTorch
// (tests/fixtures/optimizer_reference.json, made by tests/python/make_optimizer_reference.py),
// the OpenMP kernels against their scalar references bit for bit, and a resumed run
// against an uninterrupted one bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../test_support.h"
#include "core/dtype.h"
#include "core/error.h"
#include "train/grad_clip.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"

namespace whet {
namespace {

using json = nlohmann::json;

const json& reference() {
  static const json j = [] {
    std::ifstream in(test::source_path("tests/fixtures/optimizer_reference.json"));
    EXPECT_TRUE(in) << "tests/fixtures/optimizer_reference.json";
    return json::parse(in);
  }();
  return j;
}

// Values and gradients that Parameters point at. Not copyable: a copy's Parameters would
// still point at the original's buffers.
struct Tensors {
  std::vector<std::vector<float>> values, grads;
  std::vector<Parameter> params;

  Tensors(const std::vector<std::string>& names, const std::vector<std::vector<float>>& initial,
          const std::vector<bool>& decay)
      : values(initial) {
    for (size_t i = 0; i < names.size(); ++i) grads.emplace_back(values[i].size(), 0.0f);
    for (size_t i = 0; i < names.size(); ++i)
      params.push_back({names[i], values[i].data(), grads[i].data(), int64_t(values[i].size()), decay[i]});
  }
  Tensors(const Tensors&) = delete;
  Tensors& operator=(const Tensors&) = delete;
  Tensors(Tensors&&) = default;  // moved vectors keep their buffers, so the pointers stay valid

  void set_grads(const std::vector<std::vector<float>>& g) {
    for (size_t i = 0; i < grads.size(); ++i) {
      ASSERT_EQ(g[i].size(), grads[i].size());
      std::copy(g[i].begin(), g[i].end(), grads[i].begin());
    }
  }
};

Tensors reference_tensors() {
  std::vector<std::string> names;
  std::vector<std::vector<float>> values;
  std::vector<bool> decay;
  for (const json& p : reference()["params"]) {
    names.push_back(p["name"]);
    values.push_back(p["value"].get<std::vector<float>>());
    decay.push_back(p["decay"]);
  }
  return Tensors(names, values, decay);
}

std::vector<std::vector<float>> reference_grads(size_t step) {
  return reference()["grads"][step].get<std::vector<std::vector<float>>>();
}

void expect_close(const std::vector<float>& actual, const std::vector<float>& expected, double rel,
                  const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_LE(std::abs(double(actual[i]) - double(expected[i])), rel * std::abs(double(expected[i])))
        << what << "[" << i << "]: " << actual[i] << " vs torch " << expected[i];
}

void expect_matches_torch(const std::string& case_name) {
  const json* c = nullptr;
  for (const json& o : reference()["optimizers"])
    if (o["name"] == case_name) c = &o;
  ASSERT_NE(c, nullptr) << case_name;
  OptimizerConfig config;
  config.kind = (*c)["kind"] == "adamw" ? OptimizerKind::AdamW : OptimizerKind::Sgd;
  config.weight_decay = (*c)["weight_decay"];
  if (config.kind == OptimizerKind::AdamW) {
    config.beta1 = (*c)["beta1"];
    config.beta2 = (*c)["beta2"];
    config.eps = (*c)["eps"];
  } else {
    config.momentum = (*c)["momentum"];
  }
  Tensors t = reference_tensors();
  Optimizer opt(t.params, config);
  const std::vector<double> lrs = (*c)["lrs"];
  for (size_t s = 0; s < lrs.size(); ++s) {
    t.set_grads(reference_grads(s));
    opt.step(lrs[s]);
    for (size_t i = 0; i < t.params.size(); ++i)
      expect_close(t.values[i], (*c)["after_step"][s][i].get<std::vector<float>>(), 1e-6,
                   case_name + " step " + std::to_string(s + 1) + " " + t.params[i].name);
  }
}

TEST(Optimizer, AdamWWithWeightDecayMatchesTorch) { expect_matches_torch("adamw_weight_decay"); }
TEST(Optimizer, AdamWWithoutWeightDecayMatchesTorch) { expect_matches_torch("adamw_no_weight_decay"); }
TEST(Optimizer, SgdMomentumWithWeightDecayMatchesTorch) { expect_matches_torch("sgd_momentum_weight_decay"); }

// With a zero gradient AdamW's moments stay 0 and its update is -step_size * 0 / eps = 0, so
// only the decoupled decay moves a value: by exactly the factor float(1 - lr*wd). SGD's
// gradient becomes wd*value, so a decaying value moves and a non-decaying one cannot.
TEST(Optimizer, ParametersWithoutDecayAreNotDecayed) {
  for (OptimizerKind kind : {OptimizerKind::AdamW, OptimizerKind::Sgd}) {
    OptimizerConfig config;
    config.kind = kind;
    config.weight_decay = 0.1;
    const std::vector<float> initial = {1.5f, -2.0f, 0.25f};
    Tensors t({"w", "norm"}, {initial, initial}, {true, false});
    Optimizer opt(t.params, config);
    opt.step(0.5);
    EXPECT_EQ(t.values[1], initial);
    for (int i = 0; i < 3; ++i) {
      if (kind == OptimizerKind::AdamW) {
        EXPECT_EQ(t.values[0][i], initial[i] * float(1.0 - 0.5 * 0.1));
      } else {
        EXPECT_NEAR(t.values[0][i], initial[i] * (1.0 - 0.5 * 0.1), 1e-6 * std::abs(initial[i]));
      }
    }
  }
}

std::vector<float> random_vector(std::mt19937& rng, int64_t n, float scale) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

void expect_bitwise_equal(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << what;
}

// Large enough for the parallel path, and not a multiple of any vector width.
constexpr int64_t kLarge = (1 << 20) + 7;

// Step 2 clips (its gradients read times a factor below 1), the others do not.
float clip_factor_at(int64_t step) { return step == 2 ? 0.37f : 1.0f; }

// The kernel's bf16 copy holds every updated value rounded, as full fine-tuning's steps multiply it.
void expect_copy_is_rounded(const std::vector<uint16_t>& copy, const std::vector<float>& value) {
  ASSERT_EQ(copy.size(), value.size());
  for (size_t i = 0; i < value.size(); ++i) ASSERT_EQ(copy[i], f32_to_bf16(value[i])) << i;
}

TEST(Optimizer, AdamWUpdateEqualsScalarReference) {
  std::mt19937 rng(11);
  std::vector<float> value = random_vector(rng, kLarge, 1.0f), m(kLarge, 0.0f), v(kLarge, 0.0f);
  std::vector<float> ref_value = value, ref_m = m, ref_v = v;
  std::vector<uint16_t> copy(kLarge, 0);
  OptimizerConfig config;
  config.weight_decay = 0.1;
  for (int64_t step = 1; step <= 3; ++step) {
    const std::vector<float> grad = random_vector(rng, kLarge, 0.01f);
    const AdamWCoefficients c = adamw_coefficients(config, 1e-3 * double(step), step, true);
    adamw_update(value.data(), m.data(), v.data(), grad.data(), kLarge, c, clip_factor_at(step), copy.data());
    adamw_update_reference(ref_value.data(), ref_m.data(), ref_v.data(), grad.data(), kLarge, c,
                           clip_factor_at(step));
  }
  expect_bitwise_equal(value, ref_value, "value");
  expect_bitwise_equal(m, ref_m, "exp_avg");
  expect_bitwise_equal(v, ref_v, "exp_avg_sq");
  expect_copy_is_rounded(copy, value);
}

TEST(Optimizer, SgdUpdateEqualsScalarReference) {
  std::mt19937 rng(12);
  std::vector<float> value = random_vector(rng, kLarge, 1.0f), buffer(kLarge, 0.0f);
  std::vector<float> ref_value = value, ref_buffer = buffer;
  std::vector<uint16_t> copy(kLarge, 0);
  OptimizerConfig config;
  config.kind = OptimizerKind::Sgd;
  config.weight_decay = 0.01;
  for (int64_t step = 1; step <= 3; ++step) {
    const std::vector<float> grad = random_vector(rng, kLarge, 0.01f);
    const SgdCoefficients c = sgd_coefficients(config, 0.05, step, true);
    sgd_update(value.data(), buffer.data(), grad.data(), kLarge, c, clip_factor_at(step), copy.data());
    sgd_update_reference(ref_value.data(), ref_buffer.data(), grad.data(), kLarge, c, clip_factor_at(step));
  }
  expect_bitwise_equal(value, ref_value, "value");
  expect_bitwise_equal(buffer, ref_buffer, "momentum_buffer");
  expect_copy_is_rounded(copy, value);
}

// A step updates as the scalar reference does and leaves the gradients zero (the
// update clears each block in its pass; train_step zeroes no more after it).
TEST(Optimizer, AStepLeavesTheGradientsZero) {
  for (OptimizerKind kind : {OptimizerKind::AdamW, OptimizerKind::Sgd}) {
    std::mt19937 rng(14);
    const std::vector<float> start = random_vector(rng, kLarge, 1.0f), grad = random_vector(rng, kLarge, 0.01f);
    OptimizerConfig config;
    config.kind = kind;
    Tensors tensors({"w"}, {start}, {true});
    tensors.set_grads({grad});
    Optimizer(tensors.params, config).step(1e-3, 0.5f);
    std::vector<float> want = start, first_moment(kLarge, 0.0f), second_moment(kLarge, 0.0f);
    if (kind == OptimizerKind::AdamW)
      adamw_update_reference(want.data(), first_moment.data(), second_moment.data(), grad.data(), kLarge,
                             adamw_coefficients(config, 1e-3, 1, true), 0.5f);
    else
      sgd_update_reference(want.data(), first_moment.data(), grad.data(), kLarge,
                           sgd_coefficients(config, 1e-3, 1, true), 0.5f);
    expect_bitwise_equal(tensors.values[0], want, "value");
    EXPECT_EQ(tensors.grads[0], std::vector<float>(kLarge, 0.0f));
  }
}

// Reading the gradients times the clip factor is torch's in-place multiply
// before its step, rounding included.
TEST(Optimizer, AClipFactorEqualsSteppingOnClippedGradients) {
  for (OptimizerKind kind : {OptimizerKind::AdamW, OptimizerKind::Sgd}) {
    std::mt19937 rng(13);
    const std::vector<float> start = random_vector(rng, kLarge, 1.0f), grad = random_vector(rng, kLarge, 0.01f);
    OptimizerConfig config;
    config.kind = kind;
    Tensors scaled({"w"}, {start}, {true}), clipped({"w"}, {start}, {true});
    scaled.set_grads({grad});
    std::vector<float> clipped_grad = grad;
    for (float& g : clipped_grad) g *= 0.37f;
    clipped.set_grads({clipped_grad});
    Optimizer(scaled.params, config).step(1e-3, 0.37f);
    Optimizer(clipped.params, config).step(1e-3);
    expect_bitwise_equal(scaled.values[0], clipped.values[0], "value");
  }
}

TEST(Optimizer, StateIsNamedAfterParameters) {
  Tensors t({"blk.3.attn_q.weight", "blk.3.attn_norm.weight"}, {std::vector<float>(6), std::vector<float>(2)},
            {true, false});
  OptimizerConfig config;
  std::vector<TensorView> adamw = Optimizer(t.params, config).state();
  ASSERT_EQ(adamw.size(), 4u);
  EXPECT_EQ(adamw[0].name, "blk.3.attn_q.weight.exp_avg");
  EXPECT_EQ(adamw[1].name, "blk.3.attn_q.weight.exp_avg_sq");
  EXPECT_EQ(adamw[3].name, "blk.3.attn_norm.weight.exp_avg_sq");
  EXPECT_EQ(adamw[3].dtype, DType::F32);
  EXPECT_EQ(adamw[0].shape, std::vector<int64_t>{6});
  EXPECT_EQ(adamw[3].nbytes, 2 * sizeof(float));
  config.kind = OptimizerKind::Sgd;
  std::vector<TensorView> sgd = Optimizer(t.params, config).state();
  ASSERT_EQ(sgd.size(), 2u);
  EXPECT_EQ(sgd[1].name, "blk.3.attn_norm.weight.momentum_buffer");
}

// What a checkpoint holds: the parameter values and a copy of the optimiser state.
struct Checkpoint {
  std::vector<std::vector<float>> values;
  int64_t step_count;
  std::vector<std::string> names;
  std::vector<std::vector<float>> state;

  std::vector<TensorView> views() const {
    std::vector<TensorView> v;
    for (size_t i = 0; i < names.size(); ++i)
      v.push_back({names[i], DType::F32, {int64_t(state[i].size())},
                   reinterpret_cast<const uint8_t*>(state[i].data()), state[i].size() * sizeof(float)});
    return v;
  }
};

Checkpoint save(const Tensors& t, const Optimizer& opt) {
  Checkpoint c{t.values, opt.step_count(), {}, {}};
  for (const TensorView& view : opt.state()) {
    c.names.push_back(view.name);
    c.state.emplace_back(view.numel());
    std::memcpy(c.state.back().data(), view.data, view.nbytes);
  }
  return c;
}

// One large decaying matrix (parallel path) and a small non-decaying vector, six steps
// under a warmup + cosine schedule, interrupted after three.
void expect_resume_is_exact(OptimizerKind kind) {
  constexpr int kSteps = 6, kStop = 3;
  std::mt19937 rng(5);
  const std::vector<std::vector<float>> initial = {random_vector(rng, 50000, 1.0f),
                                                    random_vector(rng, 64, 1.0f)};
  std::vector<std::vector<std::vector<float>>> grads;
  for (int s = 0; s < kSteps; ++s)
    grads.push_back({random_vector(rng, 50000, 0.1f), random_vector(rng, 64, 0.1f)});
  OptimizerConfig config;
  config.kind = kind;
  config.weight_decay = 0.05;
  const LrSchedule schedule{LrScheduler::Cosine, 2, 0.0};
  auto run = [&](Tensors& t, Optimizer& opt, int until) {
    while (opt.step_count() < until) {
      t.set_grads(grads[opt.step_count()]);
      opt.step(lr_at(schedule, 0.01, opt.step_count(), kSteps));
    }
  };

  Tensors whole({"w", "norm"}, initial, {true, false});
  Optimizer whole_opt(whole.params, config);
  run(whole, whole_opt, kSteps);

  Tensors first({"w", "norm"}, initial, {true, false});
  Optimizer first_opt(first.params, config);
  run(first, first_opt, kStop);
  const Checkpoint checkpoint = save(first, first_opt);

  Tensors resumed({"w", "norm"}, checkpoint.values, {true, false});
  Optimizer resumed_opt(resumed.params, config);
  resumed_opt.restore(checkpoint.step_count, checkpoint.views());
  EXPECT_EQ(resumed_opt.step_count(), kStop);
  run(resumed, resumed_opt, kSteps);

  for (size_t i = 0; i < whole.values.size(); ++i)
    expect_bitwise_equal(resumed.values[i], whole.values[i], "value");
  const Checkpoint a = save(whole, whole_opt), b = save(resumed, resumed_opt);
  EXPECT_EQ(a.names, b.names);
  for (size_t i = 0; i < a.state.size(); ++i) expect_bitwise_equal(b.state[i], a.state[i], a.names[i]);
}

TEST(Optimizer, AdamWResumedRunEqualsUninterruptedRun) { expect_resume_is_exact(OptimizerKind::AdamW); }
TEST(Optimizer, SgdResumedRunEqualsUninterruptedRun) { expect_resume_is_exact(OptimizerKind::Sgd); }

using test::expect_error;

TEST(Optimizer, RestoreRejectsMismatchedStateNamingTheTensor) {
  Tensors t({"blk.0.attn_q.weight", "blk.0.attn_norm.weight"},
            {std::vector<float>(6, 1.0f), std::vector<float>(2, 1.0f)}, {true, false});
  t.set_grads({std::vector<float>(6, 0.5f), std::vector<float>(2, 0.5f)});
  Optimizer opt(t.params, OptimizerConfig{});
  opt.step(0.01);
  const Checkpoint good = save(t, opt);

  std::vector<TensorView> missing = good.views();
  missing.erase(missing.begin() + 1);
  expect_error([&] { opt.restore(1, missing); }, {"blk.0.attn_q.weight.exp_avg_sq", "missing"});

  std::vector<TensorView> short_tensor = good.views();
  short_tensor[2].shape = {1};
  short_tensor[2].nbytes = sizeof(float);
  expect_error([&] { opt.restore(1, short_tensor); },
               {"blk.0.attn_norm.weight.exp_avg'", "1 values, expected 2"});

  std::vector<TensorView> bf16 = good.views();
  bf16[0].dtype = DType::BF16;
  expect_error([&] { opt.restore(1, bf16); }, {"blk.0.attn_q.weight.exp_avg'", "F32"});

  std::vector<TensorView> extra = good.views();
  extra.push_back(extra[0]);
  extra.back().name = "blk.1.attn_q.weight.exp_avg";
  expect_error([&] { opt.restore(1, extra); }, {"blk.1.attn_q.weight.exp_avg", "unexpected"});

  std::vector<TensorView> twice = good.views();
  twice.push_back(twice[3]);
  expect_error([&] { opt.restore(1, twice); }, {"blk.0.attn_norm.weight.exp_avg_sq", "twice"});

  OptimizerConfig sgd;
  sgd.kind = OptimizerKind::Sgd;
  Tensors other({"blk.0.attn_q.weight", "blk.0.attn_norm.weight"}, t.values, {true, false});
  expect_error([&] { Optimizer(other.params, sgd).restore(1, good.views()); },
               {"blk.0.attn_q.weight.momentum_buffer", "missing"});

  expect_error([&] { opt.restore(-1, good.views()); }, {"step count -1"});

  // A failed restore leaves the optimiser as it was.
  std::vector<TensorView> partly_wrong = good.views();
  std::vector<float> zeros(6, 0.0f);
  partly_wrong[0].data = reinterpret_cast<const uint8_t*>(zeros.data());
  partly_wrong[3].shape = {1};
  EXPECT_THROW(opt.restore(7, partly_wrong), Error);
  EXPECT_EQ(opt.step_count(), 1);
  const Checkpoint after = save(t, opt);
  for (size_t i = 0; i < good.state.size(); ++i)
    expect_bitwise_equal(after.state[i], good.state[i], good.names[i]);
}

Tensors clip_tensors(const json& c) {
  std::vector<std::string> names;
  std::vector<bool> decay;
  for (const json& p : reference()["params"]) {
    names.push_back(p["name"]);
    decay.push_back(p["decay"]);
  }
  Tensors t(names, c["grads"].get<std::vector<std::vector<float>>>(), decay);
  t.set_grads(c["grads"].get<std::vector<std::vector<float>>>());
  return t;
}

TEST(GradClip, MatchesTorchClipGradNorm) {
  for (const json& c : reference()["clip"]) {
    const double max_norm = c["max_norm"];
    SCOPED_TRACE("max_norm " + std::to_string(max_norm));
    Tensors t = clip_tensors(c);
    const double norm = grad_norm(t.params);
    EXPECT_NEAR(norm, c["norm"].get<double>(), 1e-6 * c["norm"].get<double>());
    const float factor = clip_factor(norm, max_norm);
    for (size_t i = 0; i < t.grads.size(); ++i) {
      std::vector<float> clipped = t.grads[i];
      for (float& g : clipped) g *= factor;
      expect_close(clipped, c["clipped"][i].get<std::vector<float>>(), 1e-6, t.params[i].name);
    }
  }
}

// The fixture's norm is about 14 (22 values of N(0, 9)), so max_norm 1 clips and 100 does not.
TEST(GradClip, ClipsOnlyAboveMaxNorm) {
  for (const json& c : reference()["clip"]) {
    Tensors t = clip_tensors(c);
    const double max_norm = c["max_norm"];
    const double norm = grad_norm(t.params);
    const float factor = clip_factor(norm, max_norm);
    if (max_norm > norm) {
      EXPECT_EQ(factor, 1.0f);
    } else {
      EXPECT_NEAR(norm * factor, max_norm, 1e-5);
    }
  }
}

TEST(GradClip, NonFiniteNormDoesNotScale) {
  Tensors t({"w"}, {std::vector<float>(3, 0.0f)}, {true});
  t.set_grads({{1.0f, INFINITY, 2.0f}});
  const double norm = grad_norm(t.params);
  EXPECT_TRUE(std::isinf(norm));
  EXPECT_EQ(clip_factor(norm, 1.0), 1.0f);
  EXPECT_EQ(clip_factor(std::nan(""), 1.0), 1.0f);
}

TEST(GradClip, ChunkedNormEqualsSequentialReference) {
  std::mt19937 rng(3);
  Tensors t({"a", "b", "c"},
            {random_vector(rng, kLarge, 1.0f), random_vector(rng, 100, 1.0f), random_vector(rng, 70001, 1.0f)},
            {true, true, false});
  t.set_grads(t.values);
  const double norm = grad_norm(t.params);
  EXPECT_NEAR(norm, grad_norm_reference(t.params), 1e-12 * norm);
  EXPECT_EQ(grad_norm(t.params), norm);  // deterministic
}

}  // namespace
}  // namespace whet
