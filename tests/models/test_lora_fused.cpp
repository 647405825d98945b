// LoRA on a family whose files fuse projections (Phi-3: qkv_proj, gate_up_proj),
// and per-module ranks and alphas. Whet keeps one adapter per projection; PEFT
// and llama.cpp one per fused module. The files' layout is stated here from the
// formats' own rules (stacked A, block-diagonal B, rank_pattern/alpha_pattern,
// llama.cpp's alpha / rank per tensor), and a round trip through either file
// must leave every logit where the adapter in memory put it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "io/safetensors.h"
#include "kernels/quant.h"
#include "models/llama.h"
#include "models/lora_gguf.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "models/peft_oracle.h"
#include "models/random_lora.h"
#include "models/reference_logits.h"
#include "test_support.h"

namespace whet {
namespace {

std::string tiny(const std::string& variant) { return test::testdata_path("tiny/" + variant); }

// An adapter of rank 4 on `targets`, with random A and B.
LlamaLora random_adapter(const LlamaConfig& config, std::vector<Projection> targets, bool rslora, uint64_t seed) {
  LoraConfig c;
  c.rank = 4;
  c.alpha = 6.0f;
  c.rslora = rslora;
  c.targets = std::move(targets);
  return test::random_lora(config, c, seed);
}

const std::vector<Projection> kAllLinear = {Projection::Q,    Projection::K,  Projection::V,   Projection::O,
                                            Projection::Gate, Projection::Up, Projection::Down};
const std::vector<Projection> kQv = {Projection::Q, Projection::V};

// The families whose files fuse projections: Phi-3 (qkv_proj, gate_up_proj) and
// GPT-2 (Conv1D modules under transformer.h.N, q, k and v fused in c_attn, no gate).
const char* kFusedVariants[] = {"phi3_longrope", "gpt2_tiny"};

// Logits of the variant's reference sequences, one after another.
std::vector<float> logits_of(const LoadedModel& m, const std::string& variant, const LlamaLora* lora) {
  std::vector<float> out, logits;
  for (const std::vector<int32_t>& seq : test::read_reference(tiny(variant)).sequences) {
    KvCache cache(m.model.config, int64_t(seq.size()));
    llama_forward(m.model, cache, seq, logits, /*all_logits=*/true, lora);
    out.insert(out.end(), logits.begin(), logits.end());
  }
  return out;
}

float max_difference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

std::vector<float> decoded(const TensorView& t) {
  std::vector<float> out(size_t(t.numel()));
  dequantize(t.dtype, t.data, out.data(), t.numel());
  return out;
}

// scale · B·A of one projection, (out, in).
std::vector<double> update_of(const LlamaLora& lora, int layer, Projection p, int64_t out, int64_t in) {
  const LoraMatrices& m = lora.layers[layer][int(p)];
  std::vector<double> w(size_t(out * in), 0.0);
  if (m.empty()) return w;
  const int64_t r = lora.config.rank;
  for (int64_t i = 0; i < out; ++i)
    for (int64_t k = 0; k < r; ++k)
      for (int64_t j = 0; j < in; ++j) w[i * in + j] += double(m.b[i * r + k]) * m.a[k * in + j];
  for (double& x : w) x *= lora.config.scale();
  return w;
}

// Every projection's update of `got` equals `want`'s, whatever their ranks and scales.
void expect_same_updates(const LlamaLora& got, const LlamaLora& want, const LlamaConfig& config) {
  for (int layer = 0; layer < config.num_layers; ++layer)
    for (int p = 0; p < kProjections; ++p) {
      const auto [out, in] = projection_shape(config, Projection(p));
      const std::vector<double> g = update_of(got, layer, Projection(p), out, in);
      const std::vector<double> w = update_of(want, layer, Projection(p), out, in);
      for (size_t i = 0; i < g.size(); ++i)
        ASSERT_NEAR(g[i], w[i], 1e-5) << "layer " << layer << " " << kProjectionNames[p] << " element " << i;
    }
}

TEST(LoraFused, PeftAndGgufRoundTripsGiveTheAdaptersLogits) {
  for (const std::string variant : kFusedVariants) {
    const LoadedModel model = load_model(tiny(variant) + "/hf");
    const LlamaConfig& config = model.model.config;
    const std::vector<float> base = logits_of(model, variant, nullptr);
    for (const auto& targets : {kAllLinear, kQv}) {
      for (bool rslora : {false, true}) {
        SCOPED_TRACE(testing::Message() << variant << ", " << targets.size() << " targets" << (rslora ? ", rslora" : ""));
        const LlamaLora lora = random_adapter(config, targets, rslora, 5 + targets.size());
        const std::vector<float> want = logits_of(model, variant, &lora);
        ASSERT_GT(max_difference(want, base), 0.05f) << "the adapter must move the logits for the test to mean anything";

        const std::string dir = test::this_test_scratch("lora_fused_");
        save_peft_adapter(lora, config, dir + "/peft", "tiny " + variant);
        const LlamaLora peft = load_peft_adapter(dir + "/peft", config);
        EXPECT_LE(max_difference(logits_of(model, variant, &peft), want), 1e-5f) << "PEFT";
        expect_same_updates(peft, lora, config);

        save_gguf_lora(lora, config, dir + "/adapter.gguf", DType::F32);
        const LlamaLora gguf = load_gguf_lora(dir + "/adapter.gguf", config);
        EXPECT_LE(max_difference(logits_of(model, variant, &gguf), want), 1e-5f) << "GGUF";
        expect_same_updates(gguf, lora, config);

        // Written again, an adapter read from a file keeps its rank: the parts of a module share its A.
        save_peft_adapter(peft, config, dir + "/peft_again", "tiny " + variant);
        const LlamaLora peft_again = load_peft_adapter(dir + "/peft_again", config);
        EXPECT_EQ(peft_again.config.rank, peft.config.rank);
        expect_same_updates(peft_again, lora, config);
        save_gguf_lora(gguf, config, dir + "/again.gguf", DType::F32);
        const LlamaLora gguf_again = load_gguf_lora(dir + "/again.gguf", config);
        EXPECT_EQ(gguf_again.config.rank, gguf.config.rank);
        expect_same_updates(gguf_again, lora, config);
      }
    }
  }
}

// PEFT and llama.cpp themselves on the files Whet writes from an adapter in
// memory (not read back by Whet, so a wrong stacking or scale cannot cancel out):
// transformers + PEFT's logits equal Whet's to 1e-4 past longrope's original 16
// positions, where transformers and Whet pick the same factors, and llama.cpp's
// (llama-cpp-python's lora_path) on the sequences of at most 20 tokens, as it does
// not apply Phi-3's sliding window of 20 (check_family_references.py).
TEST(LoraFused, PeftAndLlamaCppComputeWhatTheAdapterInMemoryDoes) {
  WHET_REQUIRE(test::peft_missing().empty(), test::peft_missing());
  const char* cache = std::getenv("WHET_CACHE");
  const std::string llamacpp_python =
      (cache ? std::string(cache) : std::string(std::getenv("HOME")) + "/.cache/whet") + "/venv-llamacpp/bin/python";
  WHET_REQUIRE(test::run_whet_command(llamacpp_python + " -c 'import llama_cpp'").exit_code == 0,
               "llama-cpp-python in " + llamacpp_python + " (scripts/setup_llamacpp_venv.sh builds it) is missing");
  // Phi-3: compared past longrope's original 16 positions (transformers) and up to 20 tokens
  // (llama.cpp). GPT-2 in llama.cpp: 5e-3, the cost of ggml's fp16 GELU table (1.4e-3
  // without an adapter, check_family_references.py), where the adapters move the logits by ~1 to 2.
  struct Case {
    std::string name;
    int longer_than, at_most;
    const char* llamacpp_tolerance;
  };
  for (const Case& c : {Case{"phi3_longrope", 16, 20, "1e-4"}, Case{"gpt2_tiny", 0, 1000, "5e-3"}}) {
    const std::string variant = tiny(c.name);
    const LoadedModel model = load_model(variant + "/hf");
    for (const auto& targets : {kAllLinear, kQv, std::vector<Projection>{Projection::K, Projection::Up}}) {
      for (bool rslora : {false, true}) {
        SCOPED_TRACE(testing::Message() << c.name << ", " << targets.size() << " targets" << (rslora ? ", rslora" : ""));
        const LlamaLora lora = random_adapter(model.model.config, targets, rslora, 21 + targets.size());
        const std::string dir = test::this_test_scratch("lora_fused_oracles_");
        std::filesystem::create_directories(dir + "/whet");
        test::write_whet_logits(model, lora, variant, dir + "/whet");
        save_peft_adapter(lora, model.model.config, dir + "/adapter", variant + "/hf");
        save_gguf_lora(lora, model.model.config, dir + "/adapter.gguf", DType::F32);
        const test::RunResult peft =
            test::check_with_peft(variant + "/hf", dir + "/adapter", dir + "/whet", 1e-4, c.longer_than);
        const test::RunResult llamacpp = test::run_whet_command(
            llamacpp_python + " " + test::source_path("tests/python/check_gguf_lora_llamacpp.py") + " --variant " +
            variant + " --adapter " + dir + "/adapter.gguf --whet " + dir + "/whet --tolerance " +
            c.llamacpp_tolerance + " --at-most " + std::to_string(c.at_most));
        for (const auto& [check, ok] : {std::pair{&peft, "peft adapter: ok"}, std::pair{&llamacpp, "gguf lora: ok"}}) {
          EXPECT_EQ(check->exit_code, 0) << check->out << check->err;
          EXPECT_NE(check->out.find(ok), std::string::npos) << check->out << check->err;
          std::printf("%s", check->out.c_str());
        }
      }
    }
  }
}

// PEFT's layout of q and v on qkv_proj: A = [A_q; A_v] (2r × in), B = [[B_q, 0], [0, 0], [0, B_v]]
// with k's rows zero; rank 2r and alpha 2·alpha keep the scale alpha / r.
TEST(LoraFused, PeftFileStacksThePartsOfAFusedModule) {
  const LlamaConfig config = load_model(tiny("phi3_longrope") + "/hf").model.config;
  const LlamaLora lora = random_adapter(config, {Projection::Q, Projection::V, Projection::Down}, false, 3);
  const std::string dir = test::this_test_scratch("lora_fused_") + "/peft";
  save_peft_adapter(lora, config, dir, "tiny phi3");

  const nlohmann::json c = nlohmann::json::parse(std::ifstream(dir + "/adapter_config.json"));
  EXPECT_EQ(c.at("target_modules"), nlohmann::json({"qkv_proj", "down_proj"}));
  EXPECT_EQ(c.at("r"), 4);
  EXPECT_EQ(c.at("rank_pattern"), nlohmann::json({{"qkv_proj", 8}}));
  EXPECT_EQ(c.at("alpha_pattern"), nlohmann::json({{"qkv_proj", 12.0}}));

  const SafetensorsFile f = SafetensorsFile::open(dir + "/adapter_model.safetensors");
  EXPECT_EQ(f.tensors.size(), size_t(4 * config.num_layers)) << "A and B of qkv_proj and down_proj, nothing per part";
  const int64_t hidden = config.hidden_size, q = int64_t(config.num_heads) * config.head_dim,
                kv = int64_t(config.num_kv_heads) * config.head_dim;
  for (int layer = 0; layer < config.num_layers; ++layer) {
    const std::string prefix = "base_model.model.model.layers." + std::to_string(layer) + ".self_attn.qkv_proj.";
    const TensorView* a = f.find_tensor(prefix + "lora_A.weight");
    const TensorView* b = f.find_tensor(prefix + "lora_B.weight");
    ASSERT_TRUE(a && b) << prefix;
    ASSERT_EQ(a->shape, (std::vector<int64_t>{8, hidden}));
    ASSERT_EQ(b->shape, (std::vector<int64_t>{q + 2 * kv, 8}));
    const std::vector<float> fa = decoded(*a), fb = decoded(*b);
    const LoraMatrices& mq = lora.layers[layer][int(Projection::Q)];
    const LoraMatrices& mv = lora.layers[layer][int(Projection::V)];
    EXPECT_EQ(std::vector<float>(fa.begin(), fa.begin() + 4 * hidden), mq.a);
    EXPECT_EQ(std::vector<float>(fa.begin() + 4 * hidden, fa.end()), mv.a);
    for (int64_t row = 0; row < q + 2 * kv; ++row)
      for (int64_t k = 0; k < 8; ++k) {
        float want = 0;
        if (row < q && k < 4) want = mq.b[row * 4 + k];
        if (row >= q + kv && k >= 4) want = mv.b[(row - q - kv) * 4 + k - 4];
        ASSERT_EQ(fb[row * 8 + k], want) << "row " << row << ", column " << k;
      }
    EXPECT_FALSE(f.find_tensor("base_model.model.model.layers." + std::to_string(layer) + ".mlp.gate_up_proj.lora_A.weight"));
  }
}

// llama.cpp's names for the fused tensors (attn_qkv; ffn_up holding gate then up) and its
// scale alpha / rank per tensor: a module of rank 2r carries the factor 2 in B.
TEST(LoraFused, GgufFileStacksThePartsUnderLlamaCppsNames) {
  const LlamaConfig config = load_model(tiny("phi3_longrope") + "/hf").model.config;
  const LlamaLora lora = random_adapter(config, {Projection::Gate, Projection::Up, Projection::O}, false, 9);
  const std::string path = test::this_test_scratch("lora_fused_") + "/adapter.gguf";
  save_gguf_lora(lora, config, path, DType::F32);
  const GgufFile g = GgufFile::open(path);
  EXPECT_EQ(g.get_string("general.architecture"), "phi3");
  EXPECT_FLOAT_EQ(float(g.get_float("adapter.lora.alpha")), 6.0f);
  EXPECT_EQ(g.tensors.size(), size_t(4 * config.num_layers));
  const int64_t hidden = config.hidden_size, ffn = config.intermediate_size;
  const TensorView* a = g.find_tensor("blk.1.ffn_up.weight.lora_a");
  const TensorView* b = g.find_tensor("blk.1.ffn_up.weight.lora_b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{8, hidden})) << "ggml ne [in, rank]";
  EXPECT_EQ(b->shape, (std::vector<int64_t>{2 * ffn, 8})) << "ggml ne [rank, out]";
  EXPECT_FALSE(g.find_tensor("blk.1.ffn_gate.weight.lora_a"));
  const std::vector<float> fb = decoded(*b);
  const LoraMatrices& gate = lora.layers[1][int(Projection::Gate)];
  const LoraMatrices& up = lora.layers[1][int(Projection::Up)];
  for (int64_t row = 0; row < 2 * ffn; ++row)
    for (int64_t k = 0; k < 8; ++k) {
      float want = 0;
      if (row < ffn && k < 4) want = 2 * gate.b[row * 4 + k];
      if (row >= ffn && k >= 4) want = 2 * up.b[(row - ffn) * 4 + k - 4];
      ASSERT_EQ(fb[row * 8 + k], want) << "row " << row << ", column " << k;
    }
  const TensorView* o = g.find_tensor("blk.1.attn_output.weight.lora_b");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->shape, (std::vector<int64_t>{hidden, 4}));
  EXPECT_EQ(decoded(*o), lora.layers[1][int(Projection::O)].b) << "a module of one part keeps rank r and scale";
}

// A PEFT adapter as PEFT writes one for an unfused model with per-module ranks and
// alphas (random A and B): it loads at the largest rank with every update exactly
// PEFT's, where PEFT 0.13 gives a module the first rank_pattern key, then
// alpha_pattern key, that matches ".*\.KEY$", and that one key's rank and alpha.
struct PatternedAdapter {
  nlohmann::ordered_json config = {{"peft_type", "LORA"}, {"r", 4}, {"lora_alpha", 8.0},
                                   {"target_modules", {"q_proj", "k_proj", "v_proj", "down_proj"}}};
  std::map<std::string, int> rank_of;  // module -> rank written
  std::map<std::string, double> scale_of;  // module -> PEFT's scale

  std::string write(const std::string& dir, const LlamaConfig& model, LlamaLora* expected) const {
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/adapter_config.json") << config.dump();
    std::mt19937 rng(17);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    std::vector<std::vector<float>> data;
    std::vector<TensorView> views;
    LoraConfig c;
    c.rank = 16;  // wide enough for every module: each projection's update is held as scale · B·A at rank 16
    c.alpha = 16.0f;
    c.targets = {};
    for (const auto& [module, rank] : rank_of) c.targets.push_back(*projection_from_name(module));
    *expected = make_lora(model, c, 0);
    for (int layer = 0; layer < model.num_layers; ++layer)
      for (const auto& [module, rank] : rank_of) {
        const Projection p = *projection_from_name(module);
        const auto [out, in] = projection_shape(model, p);
        const std::string prefix = "base_model.model.model.layers." + std::to_string(layer) + "." +
                                   (p == Projection::Down ? "mlp." : "self_attn.") + module + ".";
        std::vector<float> a(size_t(rank * in)), b(size_t(out * rank));
        for (float& x : a) x = normal(rng);
        for (float& x : b) x = normal(rng);
        LoraMatrices& m = expected->layers[layer][int(p)];
        std::fill(m.a.begin(), m.a.end(), 0.0f);
        std::fill(m.b.begin(), m.b.end(), 0.0f);
        std::copy(a.begin(), a.end(), m.a.begin());
        for (int64_t i = 0; i < out; ++i)
          for (int k = 0; k < rank; ++k) m.b[i * 16 + k] = float(b[i * rank + k] * scale_of.at(module));  // scale 1 here
        data.push_back(std::move(a));
        views.push_back({prefix + "lora_A.weight", DType::F32, {rank, in}, nullptr, 0});
        data.push_back(std::move(b));
        views.push_back({prefix + "lora_B.weight", DType::F32, {out, rank}, nullptr, 0});
      }
    for (size_t i = 0; i < views.size(); ++i) {
      views[i].data = reinterpret_cast<const uint8_t*>(data[i].data());
      views[i].nbytes = data[i].size() * sizeof(float);
    }
    write_safetensors(dir + "/adapter_model.safetensors", views);
    return dir;
  }
};

TEST(LoraPeft, RankAndAlphaPatternsLoadAsPeftAppliesThem) {
  const LlamaConfig config = load_model(tiny("gqa_tied") + "/hf").model.config;
  PatternedAdapter h;
  h.config["use_rslora"] = false;
  // q: "q_proj" is the first key that matches, so its alpha is lora_alpha, not the
  // alpha_pattern entry under the longer key. k: alpha only. v and down: r and lora_alpha.
  h.config["rank_pattern"] = {{"q_proj", 8}};
  h.config["alpha_pattern"] = {{"self_attn.q_proj", 100.0}, {"k_proj", 3.0}};
  h.rank_of = {{"q_proj", 8}, {"k_proj", 4}, {"v_proj", 4}, {"down_proj", 4}};
  h.scale_of = {{"q_proj", 8.0 / 8}, {"k_proj", 3.0 / 4}, {"v_proj", 8.0 / 4}, {"down_proj", 8.0 / 4}};
  LlamaLora expected;
  const std::string dir = h.write(test::this_test_scratch("lora_patterns_") + "/uniform", config, &expected);
  expected.config.alpha = 16.0f;  // scale 1: the scales live in B
  const LlamaLora got = load_peft_adapter(dir, config);
  EXPECT_EQ(got.config.rank, 8);
  EXPECT_EQ(got.config.targets, (std::vector<Projection>{Projection::Q, Projection::K, Projection::V, Projection::Down}));
  for (Projection p : {Projection::Q, Projection::K, Projection::V, Projection::Down}) {
    const auto [out, in] = projection_shape(config, p);
    for (int layer = 0; layer < config.num_layers; ++layer) {
      const std::vector<double> g = update_of(got, layer, p, out, in), w = update_of(expected, layer, p, out, in);
      for (size_t i = 0; i < g.size(); ++i)
        ASSERT_NEAR(g[i], w[i], 1e-5) << "layer " << layer << " " << kProjectionNames[int(p)] << " element " << i;
    }
  }
}

TEST(LoraPeft, PerLayerPatternGivesThatLayerItsRankAndAlpha) {
  const LlamaConfig config = load_model(tiny("gqa_tied") + "/hf").model.config;
  PatternedAdapter h;
  h.config["target_modules"] = {"down_proj"};
  h.config["rank_pattern"] = {{"layers.1.mlp.down_proj", 4}};
  h.config["alpha_pattern"] = {{"layers.1.mlp.down_proj", 5.0}};
  h.rank_of = {{"down_proj", 4}};
  h.scale_of = {{"down_proj", 8.0 / 4}};  // layer 0; layer 1 is 5 / 4
  LlamaLora expected;
  const std::string dir = h.write(test::this_test_scratch("lora_patterns_") + "/per_layer", config, &expected);
  expected.config.alpha = 16.0f;
  const LlamaLora got = load_peft_adapter(dir, config);
  const auto [out, in] = projection_shape(config, Projection::Down);
  const std::vector<double> w0 = update_of(expected, 0, Projection::Down, out, in);
  const std::vector<double> w1 = update_of(expected, 1, Projection::Down, out, in);
  const std::vector<double> g0 = update_of(got, 0, Projection::Down, out, in);
  const std::vector<double> g1 = update_of(got, 1, Projection::Down, out, in);
  for (size_t i = 0; i < w0.size(); ++i) {
    ASSERT_NEAR(g0[i], w0[i], 1e-5) << i;
    ASSERT_NEAR(g1[i], w1[i] * (5.0 / 8.0), 1e-5) << i;
  }
}

TEST(LoraPeft, UnreadablePatternsAreClearErrors) {
  const LlamaConfig config = load_model(tiny("gqa_tied") + "/hf").model.config;
  struct Case {
    std::string name;
    nlohmann::ordered_json rank_pattern, alpha_pattern;
    std::vector<std::string> message;
  };
  for (const Case& c : {Case{"zero_rank", {{"q_proj", 0}}, nlohmann::ordered_json::object(), {"rank_pattern.q_proj"}},
                        Case{"alpha_text", nlohmann::ordered_json::object(), {{"q_proj", "big"}}, {"alpha_pattern.q_proj"}},
                        Case{"bad_regex", {{"q_proj(", 8}}, nlohmann::ordered_json::object(), {"rank_pattern", "q_proj("}}}) {
    SCOPED_TRACE(c.name);
    PatternedAdapter h;
    h.config["rank_pattern"] = c.rank_pattern;
    h.config["alpha_pattern"] = c.alpha_pattern;
    h.rank_of = {{"q_proj", 4}, {"k_proj", 4}, {"v_proj", 4}, {"down_proj", 4}};
    h.scale_of = {{"q_proj", 2.0}, {"k_proj", 2.0}, {"v_proj", 2.0}, {"down_proj", 2.0}};
    LlamaLora unused;
    const std::string dir = h.write(test::this_test_scratch("lora_patterns_") + "/" + c.name, config, &unused);
    std::vector<std::string> message = c.message;
    message.push_back(dir + "/adapter_config.json");
    test::expect_error([&] { load_peft_adapter(dir, config); }, message);
  }
}

// An adapter PEFT made itself (make_peft_adapter.py: rank_pattern and alpha_pattern
// with a per-layer key and a key that never wins, random B), read into Whet: Whet's
// logits equal PEFT's own, on Phi-3's fused modules and on a Llama's.
TEST(LoraPeft, AdapterMadeByPeftWithPatternsGivesPeftsLogits) {
  WHET_REQUIRE(test::peft_missing().empty(), test::peft_missing());
  struct Case {
    std::string variant;
    int longer_than;
  };
  for (const Case& c : {Case{"phi3_longrope", 16}, Case{"gqa_tied", 0}}) {
    for (bool rslora : {false, true}) {
      SCOPED_TRACE(c.variant + (rslora ? " rslora" : ""));
      const std::string dir = test::this_test_scratch("lora_peft_made_");
      const test::RunResult made = test::run_whet_command(
          test::test_python() + " " + test::source_path("tests/python/make_peft_adapter.py") + " --base " +
          tiny(c.variant) + "/hf --out " + dir + "/adapter" + (rslora ? " --rslora" : ""));
      ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
      const LoadedModel loaded = load_model(tiny(c.variant) + "/hf");
      const LlamaLora lora = load_peft_adapter(dir + "/adapter", loaded.model.config);
      EXPECT_EQ(lora.config.rank, 6) << "the largest module rank";
      std::filesystem::create_directories(dir + "/whet");
      test::write_whet_logits(loaded, lora, tiny(c.variant), dir + "/whet");
      const test::RunResult check =
          test::check_with_peft(tiny(c.variant) + "/hf", dir + "/adapter", dir + "/whet", 1e-4, c.longer_than);
      EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
      EXPECT_NE(check.out.find("peft adapter: ok"), std::string::npos) << check.out << check.err;
      std::printf("%s", check.out.c_str());
    }
  }
}

TEST(LoraPeft, AdapterOnSomeLayersOnlyIsAClearError) {
  const LlamaConfig config = load_model(tiny("gqa_tied") + "/hf").model.config;
  struct Case {
    std::string name, targets, message;
  };
  for (const Case& c : {Case{"layers_to_transform", R"(["q_proj"], "layers_to_transform": [0])", "layers_to_transform"},
                        Case{"layer_key", R"(["layers.0.self_attn.q_proj"])", "q_proj in 1 of 2 layers"},
                        Case{"none", "[]", "names no module"}}) {
    SCOPED_TRACE(c.name);
    const std::string dir = test::this_test_scratch("lora_peft_");
    std::ofstream(dir + "/adapter_config.json") << R"({"peft_type": "LORA", "r": 4, "target_modules": )" << c.targets << "}";
    if (c.name == "layer_key") {
      const std::vector<float> a(4 * 64, 0.0f), b(64 * 4, 0.0f);
      write_safetensors(dir + "/adapter_model.safetensors",
                        {TensorView{"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", DType::F32, {4, 64},
                                    reinterpret_cast<const uint8_t*>(a.data()), a.size() * sizeof(float)},
                         TensorView{"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", DType::F32, {64, 4},
                                    reinterpret_cast<const uint8_t*>(b.data()), b.size() * sizeof(float)}});
    }
    test::expect_error([&] { load_peft_adapter(dir, config); }, {dir + "/adapter_config.json", c.message});
  }
}

// Names of the unfused projections are no modules of Phi-3: PEFT would find nothing to adapt.
TEST(LoraFused, PerPartModuleNamesAreNotPhi3Modules) {
  const LlamaConfig config = load_model(tiny("phi3_longrope") + "/hf").model.config;
  const std::string dir = test::this_test_scratch("lora_fused_") + "/q_proj";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/adapter_config.json") << R"({"peft_type": "LORA", "r": 4, "target_modules": ["q_proj"]})";
  test::expect_error([&] { load_peft_adapter(dir, config); },
                     {dir + "/adapter_config.json", "target_modules", "\"q_proj\"", "phi3", "qkv_proj"});
}

}  // namespace
}  // namespace whet
