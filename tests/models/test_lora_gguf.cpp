// GGUF LoRA adapters (llama.cpp's --lora format): what the writer puts in the
// file, stated here independently of the code (key values, tensor names, ggml
// shapes, the q/k row order of lora_b), an exact f32 round trip, and clear
// errors for files that are not a usable adapter.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "kernels/quant.h"
#include "models/lora_gguf.h"
#include "models/model_loader.h"
#include "models/random_lora.h"
#include "test_support.h"

namespace whet {
namespace {

const char* kVariants[] = {"gqa_tied", "untied_llama3", "mha_linear_sharded"};

LlamaConfig variant_config(const std::string& variant) {
  return read_hf_config(test::testdata_path("tiny/" + variant + "/hf/config.json"));
}

// Every projection adapted, B random too (a fresh adapter's B is zero, which
// would hide a wrong row order).
LlamaLora random_adapter(const LlamaConfig& config, bool rslora, uint64_t seed) {
  LoraConfig c;
  c.rank = 4;
  c.alpha = 8.0f;
  c.rslora = rslora;
  c.targets.clear();
  for (int p = 0; p < kProjections; ++p) c.targets.push_back(Projection(p));
  return test::random_lora(config, c, seed);
}

std::vector<float> decoded(const TensorView& t) {
  std::vector<float> out(size_t(t.numel()));
  dequantize(t.dtype, t.data, out.data(), t.numel());
  return out;
}

TEST(LoraGguf, F32RoundTripIsExact) {
  for (const char* variant : kVariants) {
    for (bool rslora : {false, true}) {
      SCOPED_TRACE(testing::Message() << variant << (rslora ? " rslora" : ""));
      const LlamaConfig config = variant_config(variant);
      const LlamaLora lora = random_adapter(config, rslora, 7);
      const std::string path = test::this_test_scratch("lora_gguf_") + "/adapter.gguf";
      save_gguf_lora(lora, config, path, DType::F32);
      const LlamaLora back = load_gguf_lora(path, config);
      EXPECT_EQ(back.config.rank, lora.config.rank);
      EXPECT_FLOAT_EQ(back.config.scale(), lora.config.scale()) << "rsLoRA's scale is carried by alpha";
      EXPECT_EQ(back.config.targets, lora.config.targets);
      for (size_t layer = 0; layer < lora.layers.size(); ++layer) {
        for (int p = 0; p < kProjections; ++p) {
          EXPECT_EQ(back.layers[layer][p].a, lora.layers[layer][p].a) << "layer " << layer << " " << kProjectionNames[p];
          EXPECT_EQ(back.layers[layer][p].b, lora.layers[layer][p].b) << "layer " << layer << " " << kProjectionNames[p];
        }
      }
    }
  }
}

// llama.cpp (llama-adapter.cpp) pairs blk.N.<tensor>.weight.lora_a with .lora_b,
// checks lora_a ne [in, rank] and lora_b ne [rank, out] against the base tensor,
// and scales by adapter.lora.alpha / rank. GGUF stores head h's row pair
// (i, i + head_dim/2) of q and k as rows 2i and 2i + 1, so lora_b's rows move with them.
TEST(LoraGguf, FileHasLlamaCppLayout) {
  const LlamaConfig config = variant_config("gqa_tied");  // 4 query heads, 2 key/value heads
  const LlamaLora lora = random_adapter(config, false, 11);
  const std::string path = test::this_test_scratch("lora_gguf_") + "/adapter.gguf";
  save_gguf_lora(lora, config, path, DType::F32);
  const GgufFile g = GgufFile::open(path);
  EXPECT_EQ(g.get_string("general.type"), "adapter");
  EXPECT_EQ(g.get_string("general.architecture"), "llama");
  EXPECT_EQ(g.get_string("adapter.type"), "lora");
  EXPECT_EQ(g.metadata.at("adapter.lora.alpha").type, GgufType::FLOAT32) << "llama.cpp reads it with gguf_get_val_f32";
  EXPECT_FLOAT_EQ(float(g.get_float("adapter.lora.alpha")), 8.0f);
  EXPECT_EQ(g.tensors.size(), size_t(2 * kProjections * config.num_layers));

  const std::map<std::string, Projection> parts = {{"attn_q", Projection::Q},      {"attn_k", Projection::K},
                                                   {"attn_v", Projection::V},      {"attn_output", Projection::O},
                                                   {"ffn_gate", Projection::Gate}, {"ffn_up", Projection::Up},
                                                   {"ffn_down", Projection::Down}};
  for (int layer = 0; layer < config.num_layers; ++layer) {
    for (const auto& [part, p] : parts) {
      const std::string base = "blk." + std::to_string(layer) + "." + part + ".weight";
      SCOPED_TRACE(base);
      const TensorView* a = g.find_tensor(base + ".lora_a");
      const TensorView* b = g.find_tensor(base + ".lora_b");
      ASSERT_TRUE(a && b);
      const auto [out, in] = projection_shape(config, p);
      EXPECT_EQ(a->shape, (std::vector<int64_t>{4, in})) << "ggml ne [in, rank]";
      EXPECT_EQ(b->shape, (std::vector<int64_t>{out, 4})) << "ggml ne [rank, out]";
      const LoraMatrices& m = lora.layers[layer][int(p)];
      EXPECT_EQ(decoded(*a), m.a);
      const std::vector<float> file_b = decoded(*b);
      const int heads = p == Projection::Q ? config.num_heads : p == Projection::K ? config.num_kv_heads : 0;
      if (heads == 0) {
        EXPECT_EQ(file_b, m.b);
        continue;
      }
      const int64_t head_dim = out / heads, half = head_dim / 2;
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t j = 0; j < half; ++j)
            for (int64_t r = 0; r < 4; ++r)
              ASSERT_EQ(file_b[(h * head_dim + 2 * j + i) * 4 + r], m.b[(h * head_dim + i * half + j) * 4 + r])
                  << "head " << h << ", rotary pair " << j;
    }
  }
}

// Q8_0 blocks are 32 wide: A's rows (the model's widths) split into them, B's rows of rank 4 do not.
TEST(LoraGguf, Q8_0KeepsRowsThatDoNotSplitIntoBlocksAtF16) {
  const LlamaConfig config = variant_config("gqa_tied");
  const LlamaLora lora = random_adapter(config, false, 13);
  const std::string path = test::this_test_scratch("lora_gguf_") + "/adapter.gguf";
  save_gguf_lora(lora, config, path, DType::Q8_0);
  const GgufFile g = GgufFile::open(path);
  EXPECT_EQ(g.find_tensor("blk.1.ffn_down.weight.lora_a")->dtype, DType::Q8_0);
  EXPECT_EQ(g.find_tensor("blk.1.ffn_down.weight.lora_b")->dtype, DType::F16);
  const LlamaLora back = load_gguf_lora(path, config);
  const std::vector<float>& want = lora.layers[1][int(Projection::Down)].a;
  const std::vector<float>& got = back.layers[1][int(Projection::Down)].a;
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 0.01f) << i;
}

// A file written by hand: the usual keys (each replaceable or removable) and F32 zero tensors.
struct HandMadeAdapter {
  std::map<std::string, std::string> strings = {
      {"general.architecture", "llama"}, {"general.type", "adapter"}, {"adapter.type", "lora"}};
  std::optional<float> alpha = 8.0f;
  std::vector<std::pair<std::string, std::vector<int64_t>>> tensors;

  // q adapted in every block of the gqa_tied model (hidden 64, 4 heads of 16), rank 4.
  static HandMadeAdapter valid() {
    HandMadeAdapter h;
    for (int layer = 0; layer < 2; ++layer) {
      h.tensors.push_back({"blk." + std::to_string(layer) + ".attn_q.weight.lora_a", {4, 64}});
      h.tensors.push_back({"blk." + std::to_string(layer) + ".attn_q.weight.lora_b", {64, 4}});
    }
    return h;
  }

  std::string write(const std::string& name) const {
    const std::string path = test::scratch_dir("lora_gguf_hand_made") + "/" + name + ".gguf";
    GgufWriter out;
    for (const auto& [key, value] : strings) out.set(key, GgufValue::make_string(value));
    if (alpha) out.set("adapter.lora.alpha", GgufValue::make_f32(*alpha));
    static const std::vector<float> zeros(1 << 16, 0.0f);
    for (const auto& [tensor, shape] : tensors)
      out.add_tensor(tensor, DType::F32, shape, zeros.data(), size_t(shape[0] * shape[1]) * sizeof(float));
    out.write(path);
    return path;
  }
};

TEST(LoraGguf, HandMadeValidFileLoads) {
  const LlamaLora lora = load_gguf_lora(HandMadeAdapter::valid().write("valid"), variant_config("gqa_tied"));
  EXPECT_EQ(lora.config.rank, 4);
  EXPECT_EQ(lora.config.targets, std::vector<Projection>{Projection::Q});
  EXPECT_FLOAT_EQ(lora.config.scale(), 2.0f);
}

// llama.cpp reads alpha 0 as "no scaling": the update is B·A itself.
TEST(LoraGguf, AlphaZeroMeansScaleOne) {
  HandMadeAdapter h = HandMadeAdapter::valid();
  h.alpha = 0.0f;
  EXPECT_FLOAT_EQ(load_gguf_lora(h.write("alpha0"), variant_config("gqa_tied")).config.scale(), 1.0f);
}

TEST(LoraGguf, BrokenFilesAreClearErrors) {
  const LlamaConfig config = variant_config("gqa_tied");
  struct Case {
    std::string name;
    std::function<void(HandMadeAdapter&)> spoil;
    std::vector<std::string> message;
  };
  const std::vector<Case> cases = {
      {"no_alpha", [](HandMadeAdapter& h) { h.alpha.reset(); }, {"adapter.lora.alpha", "missing"}},
      {"no_type", [](HandMadeAdapter& h) { h.strings.erase("general.type"); }, {"general.type"}},
      {"model_not_adapter", [](HandMadeAdapter& h) { h.strings["general.type"] = "model"; },
       {"general.type", "'model'", "'adapter'"}},
      {"other_architecture", [](HandMadeAdapter& h) { h.strings["general.architecture"] = "qwen2"; },
       {"general.architecture", "qwen2"}},
      {"control_vector", [](HandMadeAdapter& h) { h.strings["adapter.type"] = "control_vector"; }, {"adapter.type"}},
      {"no_partner", [](HandMadeAdapter& h) { h.tensors.pop_back(); }, {"blk.1.attn_q.weight.lora_a", "partner"}},
      {"wrong_in", [](HandMadeAdapter& h) { h.tensors[2].second = {4, 96}; },
       {"blk.1.attn_q.weight.lora_a", "[4, 96]", "expected [4, 64]"}},
      {"pair_of_two_ranks", [](HandMadeAdapter& h) { h.tensors[3].second = {64, 8}; },
       {"blk.1.attn_q.weight.lora_a", "[4, 64]", "expected [8, 64]", "rank 8"}},
      {"vector_b", [](HandMadeAdapter& h) { h.tensors[1].second = {64, 1}; }, {"blk.0.attn_q.weight.lora_a", "[4, 64]"}},
      {"one_block_only", [](HandMadeAdapter& h) { h.tensors.resize(2); }, {"missing tensor 'blk.1.attn_q.weight.lora_a'"}},
      {"norm_vector", [](HandMadeAdapter& h) { h.tensors.push_back({"blk.0.attn_norm.weight", {1, 64}}); },
       {"blk.0.attn_norm.weight", "norm"}},
      {"token_embeddings", [](HandMadeAdapter& h) { h.tensors.push_back({"token_embd.weight.lora_a", {4, 267}}); },
       {"token_embd.weight.lora_a", "not the lora_a or lora_b"}},
      {"block_beyond_model", [](HandMadeAdapter& h) { h.tensors.push_back({"blk.2.attn_q.weight.lora_a", {4, 64}}); },
       {"blk.2.attn_q.weight.lora_a", "2-block"}},
      {"no_tensors", [](HandMadeAdapter& h) { h.tensors.clear(); }, {"no LoRA tensors"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HandMadeAdapter h = HandMadeAdapter::valid();
    c.spoil(h);
    const std::string path = h.write(c.name);
    std::vector<std::string> message = c.message;
    message.push_back(path);
    test::expect_error([&] { load_gguf_lora(path, config); }, message);
  }
}

TEST(LoraGguf, TruncatedFileIsAClearError) {
  const LlamaConfig config = variant_config("gqa_tied");
  const std::string path = test::this_test_scratch("lora_gguf_") + "/adapter.gguf";
  save_gguf_lora(random_adapter(config, false, 17), config, path, DType::F32);
  const auto size = std::filesystem::file_size(path);
  for (auto keep : {size - 1, size / 2, uintmax_t(100), uintmax_t(3)}) {
    SCOPED_TRACE(keep);
    const std::string cut = test::this_test_scratch("lora_gguf_cut_") + "/adapter.gguf";
    std::filesystem::copy_file(path, cut);
    std::filesystem::resize_file(cut, keep);
    test::expect_error([&] { load_gguf_lora(cut, config); }, {cut});
  }
}

TEST(LoraGguf, AdapterOfAnotherModelIsAClearError) {
  const LlamaConfig other = variant_config("untied_llama3");  // head_dim 24, one key/value head
  const std::string path = test::this_test_scratch("lora_gguf_") + "/adapter.gguf";
  save_gguf_lora(random_adapter(other, false, 19), other, path, DType::F32);
  test::expect_error([&] { load_gguf_lora(path, variant_config("gqa_tied")); }, {path, "blk.0.attn_q.weight", "shape"});
}

// llama.cpp takes each pair's rank from its own B: a pair of rank 8 beside pairs of
// rank 4 loads at rank 8, keeping the scale alpha / 4 of the smaller ones.
TEST(LoraGguf, PairsOfDifferentRanksLoadAtTheLargest) {
  HandMadeAdapter h = HandMadeAdapter::valid();
  h.tensors[2].second = {8, 64};
  h.tensors[3].second = {64, 8};
  const LlamaLora lora = load_gguf_lora(h.write("two_ranks"), variant_config("gqa_tied"));
  EXPECT_EQ(lora.config.rank, 8);
  EXPECT_FLOAT_EQ(lora.config.scale(), 2.0f);
  EXPECT_EQ(lora.layers[0][int(Projection::Q)].a.size(), size_t(8 * 64));
}

// Phi-3's files fuse q, k and v (and gate and up); Whet's adapters stay per part
// (their files: test_lora_fused.cpp).
TEST(LoraGguf, FamilyWithFusedProjectionsGetsAnAdapterPerPart) {
  const LoadedModel phi3 = load_model(test::testdata_path("tiny/phi3_longrope/hf"));
  const LlamaConfig& c = phi3.model.config;
  LoraConfig config;
  config.rank = 4;
  const LlamaLora lora = make_lora(c, config, 0);
  for (Projection p : {Projection::Q, Projection::K, Projection::V, Projection::O}) {
    const auto [out, in] = projection_shape(c, p);
    EXPECT_EQ(lora.layers[1][int(p)].a.size(), size_t(4 * in)) << kProjectionNames[int(p)];
    EXPECT_EQ(lora.layers[1][int(p)].b.size(), size_t(out * 4)) << kProjectionNames[int(p)];
  }
  EXPECT_TRUE(lora.layers[1][int(Projection::Up)].empty());
}

// GPT-2's MLP has no gate: all-linear adapts the six projections it has.
TEST(LoraGguf, UngatedMlpGetsNoGateAdapter) {
  const LoadedModel gpt2 = load_model(test::testdata_path("tiny/gpt2_tiny/hf"));
  LoraConfig all_linear;
  all_linear.targets = {Projection::Q,    Projection::K,  Projection::V,   Projection::O,
                        Projection::Gate, Projection::Up, Projection::Down};
  const LlamaLora lora = make_lora(gpt2.model.config, all_linear, 0);
  EXPECT_TRUE(lora.layers[0][int(Projection::Gate)].empty());
  for (Projection p : {Projection::Q, Projection::K, Projection::V, Projection::O, Projection::Up, Projection::Down})
    EXPECT_FALSE(lora.layers[0][int(p)].empty()) << kProjectionNames[int(p)];
}

// A model file handed over as an adapter says so.
TEST(LoraGguf, ModelFileIsNotAnAdapter) {
  const std::string model = test::testdata_path("tiny/gqa_tied/model-f32.gguf");
  test::expect_error([&] { load_gguf_lora(model, variant_config("gqa_tied")); }, {model, "general.type"});
}

}  // namespace
}  // namespace whet
