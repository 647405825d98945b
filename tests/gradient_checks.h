#pragma once
// Gradients against PyTorch autograd's (tests/python/make_*_references.py): the
// bar is relative error at most 1e-4 for every trainable tensor, as
// max|whet - torch| / max|torch| (the references run in float64; Whet in
// float32, whose summation error on the tiny models is about 1e-6).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/sequences.h"
#include "io/safetensors.h"
#include "kernels/quant.h"
#include "models/llama.h"
#include "models/llama_block.h"
#include "models/lora_peft.h"

namespace whet::test {

constexpr float kRelativeTolerance = 1e-4f;

// A sequence as the reference scripts write it: {"ids", "targets", "positions", "segment_begin"}.
inline TrainingSequence read_training_sequence(const nlohmann::json& j) {
  TrainingSequence s;
  s.ids = j.at("ids").get<std::vector<int32_t>>();
  s.targets = j.at("targets").get<std::vector<int32_t>>();
  s.positions = j.at("positions").get<std::vector<int32_t>>();
  s.segment_begin = j.at("segment_begin").get<std::vector<int32_t>>();
  return s;
}

inline void expect_close(const std::string& name, const float* got, const TensorView& want) {
  std::vector<float> ref(want.numel());
  dequantize(want.dtype, want.data, ref.data(), want.numel());
  float max_ref = 0.0f, max_err = 0.0f;
  for (size_t i = 0; i < ref.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(ref[i]));
    max_err = std::max(max_err, std::abs(got[i] - ref[i]));
  }
  ASSERT_GT(max_ref, 0.0f) << name << ": the reference gradient is zero, so the test would prove nothing";
  EXPECT_LE(max_err / max_ref, kRelativeTolerance) << name << " (max |grad| " << max_ref << ")";
}

// A gradient that is exactly 0 by the model's symmetry (autograd's holds rounding
// of 1e-17): Whet's must be as small against `scale`, the largest gradient of a
// weight beside it, as kRelativeTolerance lets any error be.
inline void expect_vanishing(const std::string& name, const float* got, int64_t n, float scale) {
  ASSERT_GT(scale, 0.0f) << name;
  float largest = 0.0f;
  for (int64_t i = 0; i < n; ++i) largest = std::max(largest, std::abs(got[i]));
  EXPECT_LE(largest / scale, kRelativeTolerance) << name << " (its neighbours' max |grad| " << scale << ")";
}

// Every A and B gradient against the PEFT-named tensors of `path`: the four
// adapted projections of make_gradient_references.py in every layer (six for a
// family that fuses projections, whose fixture adapts qkv_proj and gate_up_proj whole,
// and for GPT-2, whose fixture adapts all its modules; its reference is written
// under the Llama family's names that for_each_lora_tensor gives every adapter).
inline void expect_lora_grads(LlamaLora& lora_grads, const std::string& path, int layers, int adapted = 4) {
  const SafetensorsFile want = SafetensorsFile::open(path);
  int checked = 0;
  for_each_lora_tensor(lora_grads, [&](const std::string& name, std::vector<float>& g, int64_t, int64_t) {
    const TensorView* ref = want.find_tensor(name);
    ASSERT_NE(ref, nullptr) << name;
    expect_close(name, g.data(), *ref);
    ++checked;
  });
  EXPECT_EQ(checked, 2 * adapted * layers);
}

// Every base weight's gradient against the HF-named tensors of `want`; a weight
// `want` lacks (an untied LM head, which takes no part through a score or
// classification head) must have a zero gradient. Returns how many were compared.
inline int expect_base_grads(const LlamaWeights& grads, const LlamaConfig& config, const SafetensorsFile& want) {
  int checked = 0;
  for_each_weight(grads, config, [&](const std::string& tensor, const Weight& g) {
    const TensorView* ref = want.find_tensor(hf_tensor_name(tensor, config));
    if (!ref) {
      EXPECT_TRUE(std::all_of(grad_data(g), grad_data(g) + g.numel(), [](float v) { return v == 0.0f; })) << tensor;
      return;
    }
    expect_close(tensor, grad_data(g), *ref);
    ++checked;
  });
  return checked;
}

}  // namespace whet::test
