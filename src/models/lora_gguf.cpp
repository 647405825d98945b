#include "models/lora_gguf.h"

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include <fmt/ranges.h>

#include "core/error.h"
#include "io/gguf.h"
#include "kernels/quant.h"
#include "models/llama_export.h"
#include "models/model_family.h"
#include "models/model_loader.h"

namespace whet {

namespace {

// GGUF's name of each projection, in Projection order.
constexpr std::array<std::string_view, kProjections> kGgufParts = {"attn_q",   "attn_k", "attn_v",  "attn_output",
                                                                   "ffn_gate", "ffn_up", "ffn_down"};

std::string base_tensor_name(int layer, Projection p) {
  return fmt::format("blk.{}.{}.weight", layer, kGgufParts[int(p)]);
}

// The heads whose q/k rows GGUF interleaves in projection p's output; 0 where rows stay in order.
// Only GGUF "llama" interleaves rotary pairs (model_family.h).
int permuted_heads(Projection p, const LlamaConfig& c) {
  if (!family_of(c).gguf_qk_interleaved) return 0;
  if (p == Projection::Q) return c.num_heads;
  if (p == Projection::K) return c.num_kv_heads;
  return 0;
}

Weight f32_matrix(const std::vector<float>& data, int64_t rows, int64_t cols) {
  return Weight{DType::F32, rows, cols, reinterpret_cast<const uint8_t*>(data.data()), nullptr};
}

void expect_string(const GgufFile& g, const std::string& key, const std::string& want) {
  if (!g.has(key)) fail(g.path(), "missing metadata key '{}' (a GGUF LoRA adapter has {} = '{}')", key, key, want);
  const std::string& got = g.get_string(key);
  if (got != want) fail(g.path(), "metadata key '{}' is '{}', expected '{}' for a GGUF LoRA adapter", key, got, want);
}

void expect_shape(const GgufFile& g, const TensorView& t, int64_t rows, int64_t cols, std::string_view why) {
  if (t.shape == std::vector<int64_t>{rows, cols}) return;
  fail(g.path(), "tensor '{}' has shape [{}], expected [{}, {}] ({})", t.name, fmt::join(t.shape, ", "), rows, cols, why);
}

// A (rank, in) and B (out, rank) of one adapted projection, as found in the file.
struct FilePair {
  const TensorView* a = nullptr;
  const TensorView* b = nullptr;
};

// Finds every pair, checks its shapes against the model and one rank, and
// rejects tensors that are no half of a pair.
std::vector<std::array<FilePair, kProjections>> find_pairs(const GgufFile& g, const LlamaConfig& model, int64_t& rank) {
  std::vector<std::array<FilePair, kProjections>> pairs(model.num_layers);
  std::set<std::string> used;
  rank = -1;
  std::string rank_source;
  for (int layer = 0; layer < model.num_layers; ++layer) {
    for (int p = 0; p < kProjections; ++p) {
      const std::string base = base_tensor_name(layer, Projection(p));
      FilePair& pair = pairs[layer][p];
      pair.a = g.find_tensor(base + ".lora_a");
      pair.b = g.find_tensor(base + ".lora_b");
      if (!pair.a && !pair.b) continue;
      if (!pair.a) fail(g.path(), "tensor '{}.lora_b' has no partner '{}.lora_a'", base, base);
      if (!pair.b) fail(g.path(), "tensor '{}.lora_a' has no partner '{}.lora_b'", base, base);
      if (rank < 0) {  // llama.cpp takes the rank from B (ne[0], the inner dimension)
        rank = pair.b->shape.empty() ? 0 : pair.b->shape.back();
        rank_source = pair.b->name;
        if (rank <= 0 || rank > 65536) fail(g.path(), "tensor '{}' gives no usable rank (shape [{}])", rank_source, fmt::join(pair.b->shape, ", "));
      }
      const auto [out, in] = projection_shape(model, Projection(p));
      const std::string why = fmt::format("rank {} as in '{}', and the model's {} projection", rank, rank_source,
                                          kProjectionNames[p]);
      expect_shape(g, *pair.a, rank, in, why);
      expect_shape(g, *pair.b, out, rank, why);
      used.insert(pair.a->name);
      used.insert(pair.b->name);
    }
  }
  for (const TensorView& t : g.tensors) {
    if (used.count(t.name)) continue;
    if (t.name.ends_with("_norm.weight"))
      fail(g.path(), "tensor '{}': norm vectors in an adapter are not supported (llama.cpp ignores them; Whet will not "
                     "silently)", t.name);
    fail(g.path(), "tensor '{}' is not the lora_a or lora_b of a projection of this {}-block model", t.name,
         model.num_layers);
  }
  if (rank < 0) fail(g.path(), "no LoRA tensors (blk.N.attn_q.weight.lora_a, .lora_b, ...)");
  return pairs;
}

// The projections adapted in block 0, after checking that every block adapts the same ones.
std::vector<Projection> uniform_targets(const GgufFile& g, const std::vector<std::array<FilePair, kProjections>>& pairs) {
  std::vector<Projection> targets;
  for (int p = 0; p < kProjections; ++p) {
    int adapted = 0;
    for (const auto& layer : pairs) adapted += layer[p].a != nullptr;
    if (adapted == 0) continue;
    for (size_t layer = 0; layer < pairs.size(); ++layer)
      if (!pairs[layer][p].a)
        fail(g.path(), "missing tensor '{}.lora_a': {} is adapted in {} of {} blocks, and Whet adapts a projection in "
                       "every block or in none", base_tensor_name(int(layer), Projection(p)), kProjectionNames[p],
             adapted, pairs.size());
    targets.push_back(Projection(p));
  }
  return targets;
}

}  // namespace

void save_gguf_lora(const LlamaLora& lora, const LlamaConfig& model, const std::string& path, DType dtype) {
  GgufWriter out;
  out.set("general.architecture", GgufValue::make_string(std::string(family_of(model).gguf_name)));
  out.set("general.type", GgufValue::make_string("adapter"));
  out.set("general.name", GgufValue::make_string(std::filesystem::path(path).stem().string()));
  out.set("adapter.type", GgufValue::make_string("lora"));
  // llama.cpp scales by alpha / rank; this alpha gives the adapter's own scale, rsLoRA's alpha / sqrt(rank) included.
  out.set("adapter.lora.alpha", GgufValue::make_f32(lora.config.scale() * float(lora.config.rank)));
  const int64_t rank = lora.config.rank;
  std::vector<Weight> kept;  // owns encoded data until written
  auto add = [&](const std::string& name, Weight w) {
    out.add_tensor(name, w.dtype, {w.rows, w.cols}, w.data, w.rows * w.row_bytes());
    kept.push_back(std::move(w));
  };
  for (int layer = 0; layer < int(lora.layers.size()); ++layer) {
    for (int p = 0; p < kProjections; ++p) {
      const LoraMatrices& m = lora.layers[layer][p];
      if (m.empty()) continue;
      const auto [rows, cols] = projection_shape(model, Projection(p));
      Weight b = f32_matrix(m.b, rows, rank);
      if (const int heads = permuted_heads(Projection(p), model)) b = permute_qk_rows(b, heads);
      const std::string base = base_tensor_name(layer, Projection(p));
      add(base + ".lora_a", gguf_encoded(f32_matrix(m.a, rank, cols), dtype));
      add(base + ".lora_b", gguf_encoded(b, dtype));
    }
  }
  out.write(path);
}

LlamaLora load_gguf_lora(const std::string& path, const LlamaConfig& model) {
  const GgufFile g = GgufFile::open(path);
  expect_string(g, "general.type", "adapter");
  expect_string(g, "general.architecture", std::string(family_of(model).gguf_name));
  expect_string(g, "adapter.type", "lora");
  const double alpha = g.get_float("adapter.lora.alpha");
  if (!std::isfinite(alpha)) fail(path, "metadata key 'adapter.lora.alpha' is {}", alpha);
  int64_t rank = 0;
  const auto pairs = find_pairs(g, model, rank);

  LoraConfig config;
  config.rank = int(rank);
  // llama.cpp reads alpha 0 as "no scaling" (scale 1), which alpha = rank gives here.
  config.alpha = alpha == 0.0 ? float(rank) : float(alpha);
  config.dropout = 0.0f;
  config.rslora = false;
  config.targets = uniform_targets(g, pairs);
  LlamaLora lora = make_lora(model, config, 0);
  for (int layer = 0; layer < model.num_layers; ++layer) {
    for (Projection p : config.targets) {
      const FilePair& pair = pairs[layer][int(p)];
      LoraMatrices& m = lora.layers[layer][int(p)];
      dequantize(pair.a->dtype, pair.a->data, m.a.data(), pair.a->numel());
      dequantize(pair.b->dtype, pair.b->data, m.b.data(), pair.b->numel());
      if (const int heads = permuted_heads(p, model)) {
        const Weight hf_order = unpermute_qk_rows(f32_matrix(m.b, pair.b->shape[0], rank), heads);
        std::memcpy(m.b.data(), hf_order.data, m.b.size() * sizeof(float));
      }
    }
  }
  return lora;
}

}  // namespace whet
