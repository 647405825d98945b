// EWC's Fisher: the empirical diagonal Fisher against PyTorch autograd
// (tests/python/make_fisher_reference.py) for full weights and a LoRA adapter,
// the exact Fisher's seeded label draws, the general text it reads, and
// ewc.safetensors written and read back.
//
// Bar: max|whet − torch| / max|torch| ≤ 3e-4 per tensor. The gradients behind
// it meet 1e-4 (test_llama_gradients.cpp); squaring doubles their relative error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gradient_checks.h"
#include "io/safetensors.h"
#include "models/llama.h"
#include "models/model_loader.h"
#include "test_support.h"
#include "train/fisher.h"

namespace whet {
namespace {

constexpr float kRelativeTolerance = 3e-4f;

std::string fisher_dir() { return test::testdata_path("fisher"); }

std::vector<TrainingSequence> reference_sequences() {
  std::vector<TrainingSequence> out;
  for (const nlohmann::json& s : nlohmann::json::parse(std::ifstream(fisher_dir() + "/sequences.json")))
    out.push_back(test::read_training_sequence(s));
  return out;
}

// The model and what trains on it.
struct Subject {
  LoadedModel loaded;
  TrainableState state;
};

Subject subject(TrainMethod method) {
  const bool full = method == TrainMethod::Full;
  Subject s{load_model(test::testdata_path("tiny/gqa_tied/hf"), full ? WeightFormat::F32 : WeightFormat::Native), {}};
  if (full) own_trainable_weights(s.loaded);
  TrainConfig c;
  c.method = method;
  if (!full) c.lora_model_dir = fisher_dir() + "/lora";
  s.state = make_trainable(s.loaded, c, 0);
  return s;
}

void expect_close(const std::string& name, const std::vector<float>& got, const TensorView& want) {
  ASSERT_EQ(int64_t(got.size()), want.numel()) << name;
  const float* ref = reinterpret_cast<const float*>(want.data);
  float max_ref = 0.0f, max_err = 0.0f;
  for (size_t i = 0; i < got.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(ref[i]));
    max_err = std::max(max_err, std::abs(got[i] - ref[i]));
  }
  ASSERT_GT(max_ref, 0.0f) << name << ": a zero reference would prove nothing";
  EXPECT_LE(max_err / max_ref, kRelativeTolerance) << name << " (max F " << max_ref << ")";
}

class EmpiricalFisher : public testing::TestWithParam<TrainMethod> {};

TEST_P(EmpiricalFisher, MatchesPyTorch) {
  const bool full = GetParam() == TrainMethod::Full;
  const Subject s = subject(GetParam());
  const std::vector<TrainingSequence> sequences = reference_sequences();
  const std::vector<std::vector<float>> fisher = estimate_fisher(s.loaded, s.state, sequences, false, 0);
  const SafetensorsFile want = SafetensorsFile::open(fisher_dir() + (full ? "/full.safetensors" : "/lora.safetensors"));
  ASSERT_EQ(fisher.size(), s.state.parameters.size());
  for (size_t k = 0; k < fisher.size(); ++k) {
    const std::string& name = s.state.parameters[k].name;
    const std::string ref_name = full ? hf_tensor_name(name, s.loaded.model.config) : name;
    const TensorView* t = want.find_tensor(ref_name);
    ASSERT_NE(t, nullptr) << ref_name;
    expect_close(name, fisher[k], *t);
  }
  for (const Parameter& p : s.state.parameters)
    ASSERT_TRUE(std::all_of(p.grad, p.grad + p.numel, [](float g) { return g == 0.0f; })) << p.name << " left dirty";
}

INSTANTIATE_TEST_SUITE_P(Methods, EmpiricalFisher, testing::Values(TrainMethod::Full, TrainMethod::Lora),
                         [](const auto& info) { return info.param == TrainMethod::Full ? "Full" : "Lora"; });

// The exact Fisher draws its labels from the model: the same seed gives the same
// Fisher, another seed another one, and neither is the empirical Fisher.
TEST(ExactFisher, SeededDrawsFromTheModel) {
  const Subject s = subject(TrainMethod::Lora);
  const std::vector<TrainingSequence> sequences = reference_sequences();
  const auto a = estimate_fisher(s.loaded, s.state, sequences, true, 7);
  EXPECT_EQ(estimate_fisher(s.loaded, s.state, sequences, true, 7), a);
  EXPECT_NE(estimate_fisher(s.loaded, s.state, sequences, true, 8), a);
  EXPECT_NE(estimate_fisher(s.loaded, s.state, sequences, false, 7), a);
  for (const std::vector<float>& f : a) EXPECT_TRUE(std::all_of(f.begin(), f.end(), [](float v) { return v >= 0; }));
}

// Σ|got − want| / Σ want over every tensor: how far an estimate is from the true Fisher.
double relative_l1(const std::vector<std::vector<float>>& got, const std::vector<Parameter>& params,
                   const SafetensorsFile& want) {
  double err = 0.0, total = 0.0;
  for (size_t k = 0; k < got.size(); ++k) {
    const TensorView* t = want.find_tensor(params[k].name);
    EXPECT_NE(t, nullptr) << params[k].name;
    if (!t) return 1e9;
    const float* ref = reinterpret_cast<const float*>(t->data);
    for (size_t i = 0; i < got[k].size(); ++i) err += std::abs(got[k][i] - ref[i]), total += ref[i];
  }
  return err / total;
}

// The exact estimator samples labels from the model, so over many draws at one
// position it converges to the true Fisher Σ_y p(y)·g_y², which the reference
// sums over the whole vocabulary. The draws are seeded, so the measured error
// does not vary from run to run; the empirical Fisher (the data's own label) is
// far from it, so the bound tells the two apart.
TEST(ExactFisher, ConvergesToTheTrueFisher) {
  const Subject s = subject(TrainMethod::Lora);
  const TrainingSequence one = test::read_training_sequence(nlohmann::json::parse(std::ifstream(fisher_dir() + "/exact.json")));
  const std::vector<TrainingSequence> draws(300, one);
  const SafetensorsFile want = SafetensorsFile::open(fisher_dir() + "/exact.safetensors");
  const double exact = relative_l1(estimate_fisher(s.loaded, s.state, draws, true, 11), s.state.parameters, want);
  const double empirical = relative_l1(estimate_fisher(s.loaded, s.state, {&one, 1}, false, 0), s.state.parameters, want);
  std::printf("[ measured ] relative L1 to the true Fisher: exact (300 draws) %.3f, empirical %.3f\n", exact,
              empirical);
  EXPECT_LE(exact, 0.15);
  EXPECT_GT(empirical, 0.3);
}

// The built-in general text, one example per sequence, loss on every token.
TEST(FisherSequences, BuiltInTextOnePerSequence) {
  const LoadedModel loaded = load_model(test::testdata_path("tiny/gqa_tied/hf"));
  const std::vector<TrainingSequence> three = fisher_sequences("tasks/general/text.jsonl", 3, loaded, 32);
  ASSERT_EQ(three.size(), 3u);
  for (const TrainingSequence& s : three) {
    EXPECT_LE(s.ids.size(), 32u);
    EXPECT_TRUE(std::all_of(s.segment_begin.begin(), s.segment_begin.end(), [](int32_t b) { return b == 0; }));
    EXPECT_TRUE(std::all_of(s.targets.begin(), s.targets.end(), [](int32_t t) { return t >= 0; }));
  }
  EXPECT_EQ(fisher_sequences("tasks/general/text.jsonl", 1000, loaded, 32).size(), 24u) << "all 24 texts";
  test::expect_error([&] { fisher_sequences("/nonexistent/general.jsonl", 3, loaded, 32); },
                     {"/nonexistent/general.jsonl"});
}

TEST(EwcFile, RoundTripsAndNamesWhatIsMissing) {
  std::vector<float> a = {1.0f, 2.0f}, ga(2), b = {3.0f}, gb(1);
  const std::vector<Parameter> params = {{"blk.0.attn_q.weight", a.data(), ga.data(), 2},
                                         {"output_norm.weight", b.data(), gb.data(), 1}};
  const AnchorPenalty ewc{1.5, {{"blk.0.attn_q.weight", Anchor{{0.5f, -1.0f}, {2.0f, 0.25f}}},
                                {"output_norm.weight", Anchor{{4.0f}, {0.125f}}}}};
  const std::string path = test::this_test_scratch("ewc_file_") + "/ewc.safetensors";
  save_ewc_file(path, ewc, {{"fisher", "empirical"}});
  const AnchorPenalty back = load_ewc_file(path, params, 1.5);
  EXPECT_EQ(back.lambda, 1.5);
  ASSERT_EQ(back.anchors.size(), 2u);
  for (const auto& [name, anchor] : ewc.anchors) {
    EXPECT_EQ(back.anchors.at(name).value, anchor.value) << name;
    EXPECT_EQ(back.anchors.at(name).fisher, anchor.fisher) << name;
  }
  EXPECT_EQ(SafetensorsFile::open(path).metadata.at("fisher"), "empirical");
  std::vector<float> c = {0.0f}, gc(1);
  const std::vector<Parameter> more = {params[0], {"blk.1.attn_q.weight", c.data(), gc.data(), 1}};
  test::expect_error([&] { load_ewc_file(path, more, 1.5); }, {path, "anchor.blk.1.attn_q.weight"});
}

}  // namespace
}  // namespace whet
