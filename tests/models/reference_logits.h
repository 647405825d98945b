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

// Whole sequences in one prefill (logits for every position), then the same
// sequences one token at a time through the KV cache.
inline void expect_logits_match(const LoadedModel& loaded, const Reference& ref, float tolerance) {
  ASSERT_EQ(loaded.model.config.vocab_size, ref.vocab);
  std::vector<float> logits;
  for (size_t s = 0; s < ref.sequences.size(); ++s) {
    const std::vector<int32_t>& seq = ref.sequences[s];
    KvCache prefill(loaded.model.config, int64_t(seq.size()));
    llama_forward(loaded.model, prefill, seq, logits, /*all_logits=*/true);
    EXPECT_LE(max_abs_diff(logits.data(), ref.logits[s].data(), logits.size()), tolerance)
        << "prefill of sequence " << s << " (" << seq.size() << " tokens)";

    KvCache decode(loaded.model.config, int64_t(seq.size()));
    float worst = 0.0f;
    for (size_t i = 0; i < seq.size(); ++i) {
      llama_forward(loaded.model, decode, std::span(&seq[i], 1), logits);
      worst = std::max(worst, max_abs_diff(logits.data(), ref.logits[s].data() + i * ref.vocab, ref.vocab));
    }
    EXPECT_LE(worst, tolerance) << "token-by-token decode of sequence " << s;
  }
}

}  // namespace whet::test
