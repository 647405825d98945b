#pragma once
// Reference logits written by tests/python (reference.json + logits.bin), and the
// comparison of a loaded model's forward pass against them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/model_loader.h"

namespace whet::test {

struct Reference {
  std::vector<std::vector<int32_t>> sequences;
  std::vector<std::vector<float>> logits;  // per sequence, (length, vocab)
  int64_t vocab = 0;
};

inline Reference read_reference(const std::string& dir) {
  Reference r;
  const nlohmann::json j = nlohmann::json::parse(std::ifstream(dir + "/reference.json"));
  r.vocab = j.at("vocab_size").get<int64_t>();
  std::ifstream bin(dir + "/logits.bin", std::ios::binary);
  for (const auto& s : j.at("sequences")) {
    r.sequences.push_back(s.get<std::vector<int32_t>>());
    std::vector<float> l(r.sequences.back().size() * r.vocab);
    bin.read(reinterpret_cast<char*>(l.data()), std::streamsize(l.size() * sizeof(float)));
    r.logits.push_back(std::move(l));
  }
  EXPECT_TRUE(bin) << dir << "/logits.bin is shorter than reference.json says";
  return r;
}

inline float max_abs_diff(const float* a, const float* b, size_t n) {
  float worst = 0.0f;
  for (size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

// A cache of F16 moved the tiny models' logits (of order 1-5, fp32 weights) by up
// to 3.7e-3 from PyTorch's; bf16 weights already allow more.
inline constexpr float kHalfCacheTolerance = 1e-2f;

// The largest difference of the logits of `seq` decoded one token at a time
// through a KV cache of `kv_dtype` from the reference's.
inline float token_by_token_diff(const LoadedModel& loaded, const Reference& ref, size_t s, DType kv_dtype) {
  const std::vector<int32_t>& seq = ref.sequences[s];
  KvCache cache(loaded.model.config, int64_t(seq.size()), kv_dtype);
  std::vector<float> logits;
  float worst = 0.0f;
  for (size_t i = 0; i < seq.size(); ++i) {
    llama_forward(loaded.model, cache, std::span(&seq[i], 1), logits);
    worst = std::max(worst, max_abs_diff(logits.data(), ref.logits[s].data() + i * ref.vocab, ref.vocab));
  }
  return worst;
}

// Whole sequences in one prefill (logits for every position), then the same
// sequences one token at a time through the KV cache, held as fp32 and as half.
// Half rounds every key and value to 11 significant bits (up to 2^-12 of each):
// `half_tolerance` allows for that (kHalfCacheTolerance on the tiny models).
inline void expect_logits_match(const LoadedModel& loaded, const Reference& ref, float tolerance,
                                float half_tolerance) {
  ASSERT_EQ(loaded.model.config.vocab_size, ref.vocab);
  std::vector<float> logits;
  float worst_half = 0.0f;
  for (size_t s = 0; s < ref.sequences.size(); ++s) {
    const std::vector<int32_t>& seq = ref.sequences[s];
    KvCache prefill(loaded.model.config, int64_t(seq.size()));
    llama_forward(loaded.model, prefill, seq, logits, /*all_logits=*/true);
    EXPECT_LE(max_abs_diff(logits.data(), ref.logits[s].data(), logits.size()), tolerance)
        << "prefill of sequence " << s << " (" << seq.size() << " tokens)";
    EXPECT_LE(token_by_token_diff(loaded, ref, s, DType::F32), tolerance) << "token-by-token decode of sequence " << s;
    const float half = token_by_token_diff(loaded, ref, s, DType::F16);
    EXPECT_LE(half, half_tolerance) << "token-by-token decode of sequence " << s << " through a cache of F16";
    worst_half = std::max(worst_half, half);
  }
  testing::Test::RecordProperty("worst_diff_with_f16_cache", testing::PrintToString(worst_half));
}

}  // namespace whet::test
