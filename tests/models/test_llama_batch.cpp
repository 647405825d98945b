// llama_forward_batch (several sequences through the weights together, each
// attending to its own KV cache) against the same sequences run one by one with
// llama_forward: the logits of every step and the caches left behind must agree.
// Rows of a matrix product do not depend on each other, so the two differ only
// in summation order (gemm kernels chosen by row count; for quantized weights the
// fused dots, AMX tiles or a decoded gemm, kernels/linear.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "test_support.h"

namespace whet {
namespace {

// Measured worst relative differences (max |batch - alone| / max |alone|, logits
// per row, caches per layer) on the tiny models: 1.5e-6 (f32, with or without
// LoRA), 1.3e-6 (Q8_0, Q4_0; exactly 0 when both runs use the same kernel). 1e-5 leaves
// room for other machines' gemm blocking and still fails any row that met another
// sequence's keys. The default model's 30 layers reach 1.9e-6 on logits (2.8e-6 on
// AMX tiles) and 4.8e-6 on the deepest caches, so it gets 3e-5.
constexpr double kTolerance = 1e-5, kDefaultModelTolerance = 3e-5;

std::string tiny(const std::string& variant) { return test::testdata_path("tiny/" + variant); }

// One sequence of a test: `history` fills its cache before the rounds start; in
// round r it runs rounds[r] (one token to decode, or several of a prompt).
struct Sequence {
  std::vector<int32_t> history;
  std::vector<std::vector<int32_t>> rounds;
};

std::vector<int32_t> ids(int64_t n, int32_t seed, int32_t vocab) {
  std::vector<int32_t> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = int32_t((seed * 7919 + i * 104729) % vocab);
  return out;
}

// Five sequences at different positions: a fresh prompt, one continuing its
// prompt mid-way (a chunked prefill), three decoding. Round 0 has 14 rows; round
// 1, everyone decoding one token, has 5.
std::vector<Sequence> mixed_sequences(int32_t vocab) {
  return {
      {ids(5, 1, vocab), {ids(1, 11, vocab), ids(1, 21, vocab)}},
      {{}, {ids(7, 12, vocab), ids(1, 22, vocab)}},
      {ids(12, 3, vocab), {ids(4, 13, vocab), ids(1, 23, vocab)}},
      {ids(1, 4, vocab), {ids(1, 14, vocab), ids(1, 24, vocab)}},
      {ids(20, 5, vocab), {ids(1, 15, vocab), ids(1, 25, vocab)}},
  };
}

double relative_diff(const float* got, const float* want, size_t n) {
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < n; ++i) {
    diff = std::max(diff, double(std::abs(got[i] - want[i])));
    scale = std::max(scale, double(std::abs(want[i])));
  }
  return diff / scale;
}

// A cache's keys or values as fp32, whichever way it holds them.
std::vector<float> widened(const std::vector<float>& f32, const std::vector<uint16_t>& f16) {
  if (f16.empty()) return f32;
  std::vector<float> out(f16.size());
  std::transform(f16.begin(), f16.end(), out.begin(), f16_to_f32);
  return out;
}

// Runs every round batched and, on a second set of caches, sequence by sequence;
// expects equal logits after each round and equal caches at the end, and records
// the worst differences in the test's XML properties under `name`.
void expect_batch_matches_alone(const std::string& name, const LlamaModel& model, const std::vector<Sequence>& seqs,
                                const LlamaLora* lora, double tolerance = kTolerance,
                                DType kv_dtype = DType::F32) {
  const LlamaConfig& c = model.config;
  const int64_t capacity = 40;
  std::vector<KvCache> batched, alone;
  std::vector<float> logits;
  for (const Sequence& s : seqs) {
    batched.emplace_back(c, capacity, kv_dtype);
    alone.emplace_back(c, capacity, kv_dtype);
    if (s.history.empty()) continue;
    llama_forward(model, batched.back(), s.history, logits, false, lora);
    llama_forward(model, alone.back(), s.history, logits, false, lora);
  }
  // A half cache's elements rounding steps apart where the fp32 values before
  // rounding differed in their last bits (MatchesSequencesRunAloneWithHalfCaches).
  const double cache_tolerance = kv_dtype == DType::F16 ? std::max(tolerance, 2e-3) : tolerance;
  double worst_logits = 0.0, worst_cache = 0.0;
  for (size_t r = 0; r < seqs[0].rounds.size(); ++r) {
    std::vector<BatchSequence> batch;
    for (size_t s = 0; s < seqs.size(); ++s) batch.push_back({&batched[s], seqs[s].rounds[r]});
    llama_forward_batch(model, batch, logits, lora);
    ASSERT_EQ(logits.size(), seqs.size() * c.vocab_size);
    for (size_t s = 0; s < seqs.size(); ++s) {
      std::vector<float> want;
      llama_forward(model, alone[s], seqs[s].rounds[r], want, false, lora);
      const double diff = relative_diff(logits.data() + s * c.vocab_size, want.data(), want.size());
      EXPECT_LE(diff, tolerance) << "round " << r << ", sequence " << s;
      worst_logits = std::max(worst_logits, diff);
    }
  }
  for (size_t s = 0; s < seqs.size(); ++s) {
    ASSERT_EQ(batched[s].length, alone[s].length) << "sequence " << s;
    // Filled positions of every layer: the rest of each layer's rows was never written.
    const int64_t layer_floats = capacity * int64_t(c.num_kv_heads) * c.head_dim;
    const int64_t filled = alone[s].length * int64_t(c.num_kv_heads) * c.head_dim;
    const std::vector<float> got_keys = widened(batched[s].k, batched[s].k_f16);
    const std::vector<float> got_values = widened(batched[s].v, batched[s].v_f16);
    const std::vector<float> want_keys = widened(alone[s].k, alone[s].k_f16);
    const std::vector<float> want_values = widened(alone[s].v, alone[s].v_f16);
    for (int layer = 0; layer < c.num_layers; ++layer) {
      for (auto [got_all, want_all] : {std::pair{&got_keys, &want_keys}, {&got_values, &want_values}}) {
        const float* got = got_all->data() + layer * layer_floats;
        const float* want = want_all->data() + layer * layer_floats;
        const double diff = relative_diff(got, want, size_t(filled));
        EXPECT_LE(diff, cache_tolerance) << "cache of sequence " << s << ", layer " << layer;
        worst_cache = std::max(worst_cache, diff);
      }
    }
  }
  testing::Test::RecordProperty(name + "_logits", testing::PrintToString(worst_logits));
  testing::Test::RecordProperty(name + "_cache", testing::PrintToString(worst_cache));
}

TEST(LlamaBatch, MatchesSequencesRunAloneF32) {
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    SCOPED_TRACE(variant);
    const LoadedModel m = load_model(tiny(variant) + "/hf", WeightFormat::F32);
    expect_batch_matches_alone(variant, m.model, mixed_sequences(m.model.config.vocab_size), nullptr);
  }
}

// The adapter moves these logits by more than 1e-2 (test_lora_merge.cpp), so
// rows that missed it, or got another row's adapter path, would show.
TEST(LlamaBatch, MatchesSequencesRunAloneWithLora) {
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    SCOPED_TRACE(variant);
    const LoadedModel m = load_model(tiny(variant) + "/hf", WeightFormat::F32);
    const LlamaLora lora = load_peft_adapter(tiny(variant) + "/gradients/lora", m.model.config);
    expect_batch_matches_alone(variant, m.model, mixed_sequences(m.model.config.vocab_size), &lora);
  }
}

// The tiny model with every matrix re-encoded as `dtype` and held natively
// (hidden 64, intermediate 96: whole 32-value blocks); norms stay fp32.
LlamaModel quantized(const std::string& variant, DType dtype) {
  LlamaModel model = load_model(tiny(variant) + "/hf", WeightFormat::F32).model;
  for_each_weight(model.weights, model.config, [&](const std::string&, Weight& w) {
    if (w.rows > 1) w = convert_weight(w, dtype);
  });
  if (model.config.tie_word_embeddings) model.weights.lm_head = model.weights.embed;
  return model;
}

// linear_forward's regimes for quantized weights: round 0 has 14 rows (AMX tiles
// where the CPU has them, else fused dots), while the sequences alone run 1 to 7
// rows (fused dots, tiles from 5); round 1 has 5 (tiles, or fused dots, against
// fused dots). Plus a batch of 3 decoding sequences, the server's common step.
TEST(LlamaBatch, MatchesSequencesRunAloneQuantized) {
  for (DType dtype : {DType::Q8_0, DType::Q4_0}) {
    SCOPED_TRACE(dtype_name(dtype));
    const LlamaModel model = quantized("gqa_tied", dtype);
    const int32_t vocab = model.config.vocab_size;
    const std::string name(dtype_name(dtype));
    expect_batch_matches_alone(name + "_mixed", model, mixed_sequences(vocab), nullptr);
    const std::vector<Sequence> decoding = {{ids(3, 1, vocab), {ids(1, 2, vocab)}},
                                            {ids(9, 3, vocab), {ids(1, 4, vocab)}},
                                            {ids(1, 5, vocab), {ids(1, 6, vocab)}}};
    expect_batch_matches_alone(name + "_decoding", model, decoding, nullptr);
  }
}

// What the server runs: the default model's Q4_1 file held natively, 30 layers.
TEST(LlamaBatch, MatchesSequencesRunAloneDefaultModel) {
  WHET_REQUIRE_DEFAULT_MODEL();
  const LoadedModel m = load_model(test::default_model_path(), WeightFormat::Native);
  expect_batch_matches_alone("Q4_1", m.model, mixed_sequences(m.model.config.vocab_size), nullptr,
                             kDefaultModelTolerance);
}

// The server's caches hold keys and values as half, rounded the same way on both
// sides before attention reads them (a prompt's widened rows as a decode step's).
// Where summation order moved a value across a rounding boundary, the element
// differs by a step of half, and every layer after it starts from inputs that
// differ: which elements cross depends on the order of every sum before, so the
// worst differences move whenever a kernel regroups its sums. Measured: 2.2e-4
// on the default model's logits and 8.1e-4 of a layer's largest cache element
// (7.3e-5 and 7e-4 before a decode step's dot products went 8 → 16 lanes); the
// tiny model 1.7e-5 and 1.6e-4. 1e-3 for logits and 2e-3 for caches, still far
// below what a row that met another's keys would show.
TEST(LlamaBatch, MatchesSequencesRunAloneWithHalfCaches) {
  WHET_REQUIRE_DEFAULT_MODEL();
  constexpr double kHalfCacheTolerance = 1e-3;
  const LoadedModel tiny_model = load_model(tiny("gqa_tied") + "/hf", WeightFormat::F32);
  expect_batch_matches_alone("gqa_tied_f16", tiny_model.model, mixed_sequences(tiny_model.model.config.vocab_size),
                             nullptr, kHalfCacheTolerance, DType::F16);
  const LoadedModel m = load_model(test::default_model_path(), WeightFormat::Native);
  expect_batch_matches_alone("Q4_1_f16", m.model, mixed_sequences(m.model.config.vocab_size), nullptr,
                             kHalfCacheTolerance, DType::F16);
}

// A branch copied from a cache's first positions (eval's shared context) goes on
// exactly as the cache itself would, whichever way the cache holds its rows.
TEST(KvCache, APrefixCopyContinuesAsTheOriginal) {
  const LoadedModel m = load_model(tiny("gqa_tied") + "/hf", WeightFormat::F32);
  const LlamaConfig& c = m.model.config;
  for (DType dtype : {DType::F32, DType::F16}) {
    SCOPED_TRACE(dtype_name(dtype));
    KvCache whole(c, 12, dtype), branch(c, 16, dtype);
    std::vector<float> logits, want, got;
    llama_forward(m.model, whole, ids(6, 1, c.vocab_size), logits);
    copy_cache_prefix(c, whole, 4, branch);
    EXPECT_EQ(branch.length, 4);
    whole.length = 4;
    const std::vector<int32_t> next = ids(2, 2, c.vocab_size);
    llama_forward(m.model, whole, next, want);
    llama_forward(m.model, branch, next, got);
    EXPECT_EQ(got, want);
  }
}

TEST(LlamaBatch, OneSequenceEqualsLlamaForward) {
  const LoadedModel m = load_model(tiny("gqa_tied") + "/hf", WeightFormat::F32);
  const std::vector<int32_t> prompt = ids(6, 1, m.model.config.vocab_size);
  KvCache a(m.model.config, 8), b(m.model.config, 8);
  std::vector<float> got, want;
  const BatchSequence one[] = {{&a, prompt}};
  llama_forward_batch(m.model, one, got);
  llama_forward(m.model, b, prompt, want);
  EXPECT_EQ(got, want) << "the same code on the same rows";
  EXPECT_EQ(a.k, b.k);
  EXPECT_EQ(a.v, b.v);
}

// A rejected batch names the sequence and leaves every cache as it was, so the
// caller can drop that one request and step the others.
TEST(LlamaBatch, ErrorsNameTheSequenceAndChangeNoCache) {
  const LoadedModel m = load_model(tiny("gqa_tied") + "/hf", WeightFormat::F32);
  const LlamaConfig& c = m.model.config;
  KvCache roomy(c, 16), full(c, 4), other(c, 16);
  std::vector<float> logits;
  llama_forward(m.model, roomy, ids(3, 1, c.vocab_size), logits);
  llama_forward(m.model, full, ids(4, 2, c.vocab_size), logits);
  const std::vector<float> roomy_k = roomy.k;
  const std::vector<int32_t> one = ids(1, 3, c.vocab_size), bad = {c.vocab_size}, none;

  const BatchSequence overflow[] = {{&roomy, one}, {&full, one}};
  test::expect_error([&] { llama_forward_batch(m.model, overflow, logits); },
                     {"sequence 1", "context full: 4 + 1 tokens exceed the cache of 4"});
  EXPECT_EQ(roomy.length, 3);
  EXPECT_EQ(full.length, 4);
  EXPECT_EQ(roomy.k, roomy_k);

  const BatchSequence bad_token[] = {{&other, one}, {&roomy, bad}};
  test::expect_error([&] { llama_forward_batch(m.model, bad_token, logits); },
                     {"sequence 1", fmt::format("token id {} outside the vocabulary", c.vocab_size)});
  const BatchSequence empty[] = {{&roomy, one}, {&other, none}};
  test::expect_error([&] { llama_forward_batch(m.model, empty, logits); }, {"sequence 1", "no tokens"});
  const BatchSequence shared[] = {{&roomy, one}, {&other, one}, {&roomy, one}};
  test::expect_error([&] { llama_forward_batch(m.model, shared, logits); },
                     {"sequences 0 and 2 share one KV cache"});
  EXPECT_EQ(roomy.length, 3);
  EXPECT_EQ(other.length, 0);

  // Alone, the message stays as it always was.
  test::expect_error([&] { llama_forward(m.model, full, one, logits); },
                     {"[generate] context full: 4 + 1 tokens exceed the cache of 4"});
}

}  // namespace
}  // namespace whet
