#include "models/lora_gguf.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <list>
#include <set>

#include <fmt/ranges.h>

#include "core/error.h"
#include "io/gguf.h"
#include "kernels/quant.h"
#include "models/llama_export.h"
#include "models/lora_modules.h"
#include "models/model_family.h"
#include "models/model_loader.h"

namespace whet {

namespace {

std::string base_tensor_name(int layer, const AdapterModule& m) { return fmt::format("blk.{}.{}.weight", layer, m.gguf_part); }

// The heads whose q/k rows GGUF interleaves in projection p's output; 0 where rows stay in order.
// Only GGUF "llama" interleaves rotary pairs (model_family.h).
int permuted_heads(Projection p, const LlamaConfig& c) {
  if (!family_of(c).gguf_qk_interleaved) return 0;
  if (p == Projection::Q) return c.num_heads;
  if (p == Projection::K) return c.num_kv_heads;
  return 0;
}

// Moves the rows of B (all the module's rows, `rank` wide) of its q/k parts between
// Hugging Face's order and GGUF's interleaved one.
void reorder_qk_rows(std::vector<float>& b, int64_t rank, const AdapterModule& module, const LlamaConfig& model,
                     Weight (*reorder)(const Weight&, int)) {
  int64_t first_row = 0;
  for (Projection p : module.parts) {
    const int64_t rows = projection_shape(model, p).first;
    if (const int heads = permuted_heads(p, model)) {
      float* part = b.data() + first_row * rank;
      const Weight moved = reorder(Weight{DType::F32, rows, rank, reinterpret_cast<const uint8_t*>(part), nullptr}, heads);
      std::memcpy(part, moved.data, size_t(rows * rank) * sizeof(float));
    }
    first_row += rows;
  }
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

// Every module's adapter in every layer, decoded and in Hugging Face's row order,
// each at its own rank and llama.cpp's scale for it; tensors that are no half of
// a pair are errors.
std::vector<std::vector<ModuleLora>> read_modules(const GgufFile& g, const LlamaConfig& model, double alpha) {
  const std::vector<AdapterModule> modules = adapter_modules(model);
  std::vector<std::vector<ModuleLora>> found(model.num_layers, std::vector<ModuleLora>(modules.size()));
  std::set<std::string> used;
  for (int layer = 0; layer < model.num_layers; ++layer) {
    for (size_t i = 0; i < modules.size(); ++i) {
      const std::string base = base_tensor_name(layer, modules[i]);
      const TensorView* a = g.find_tensor(base + ".lora_a");
      const TensorView* b = g.find_tensor(base + ".lora_b");
      if (!a && !b) continue;
      if (!a) fail(g.path(), "tensor '{}.lora_b' has no partner '{}.lora_a'", base, base);
      if (!b) fail(g.path(), "tensor '{}.lora_a' has no partner '{}.lora_b'", base, base);
      // llama.cpp takes each pair's rank from B (ne[0], the inner dimension).
      const int64_t rank = b->shape.empty() ? 0 : b->shape.back();
      if (rank <= 0 || rank > 65536) fail(g.path(), "tensor '{}' gives no usable rank (shape [{}])", b->name, fmt::join(b->shape, ", "));
      const auto [rows, in] = module_shape(model, modules[i]);
      const std::string why = fmt::format("rank {} as in '{}', and the model's {} projection", rank, b->name,
                                          modules[i].target);
      expect_shape(g, *a, rank, in, why);
      expect_shape(g, *b, rows, rank, why);
      used.insert(a->name);
      used.insert(b->name);
      ModuleLora& m = found[layer][i];
      m.rank = rank;
      m.scale = alpha == 0.0 ? 1.0 : alpha / double(rank);  // llama.cpp reads alpha 0 as "no scaling"
      m.a.resize(size_t(a->numel()));
      m.b.resize(size_t(b->numel()));
      dequantize(a->dtype, a->data, m.a.data(), a->numel());
      dequantize(b->dtype, b->data, m.b.data(), b->numel());
      reorder_qk_rows(m.b, rank, modules[i], model, unpermute_qk_rows);
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
  if (used.empty()) fail(g.path(), "no LoRA tensors (blk.N.attn_q.weight.lora_a, .lora_b, ...)");
  return found;
}

// Checks that every module adapted in some block is adapted in all.
void expect_uniform_targets(const GgufFile& g, const LlamaConfig& model, const std::vector<std::vector<ModuleLora>>& found) {
  const std::vector<AdapterModule> modules = adapter_modules(model);
  for (size_t i = 0; i < modules.size(); ++i) {
    int adapted = 0;
    for (const auto& layer : found) adapted += layer[i].rank > 0;
    if (adapted == 0) continue;
    for (size_t layer = 0; layer < found.size(); ++layer)
      if (found[layer][i].rank == 0)
        fail(g.path(), "missing tensor '{}.lora_a': {} is adapted in {} of {} blocks, and Whet adapts a projection in "
                       "every block or in none", base_tensor_name(int(layer), modules[i]), modules[i].gguf_part,
             adapted, found.size());
  }
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
  std::list<ModuleLora> stacked;  // the matrices an F32 Weight points into, until written
  std::vector<Weight> kept;       // owns encoded data until written
  auto add = [&](const std::string& name, Weight w) {
    out.add_tensor(name, w.dtype, {w.rows, w.cols}, w.data, w.rows * w.row_bytes());
    kept.push_back(std::move(w));
  };
  const std::vector<AdapterModule> modules = adapter_modules(model);
  for (int layer = 0; layer < int(lora.layers.size()); ++layer) {
    for (const AdapterModule& module : modules) {
      ModuleLora& m = stacked.emplace_back(stack_parts(lora, model, layer, module));
      if (m.rank == 0) continue;
      // A fused module's parts stacked to rank m·r get llama.cpp's scale alpha / (m·r), m times too small: B carries the m.
      const float blocks = float(m.rank / lora.config.rank);
      if (blocks != 1.0f)
        for (float& x : m.b) x *= blocks;
      reorder_qk_rows(m.b, m.rank, module, model, permute_qk_rows);
      const std::string base = base_tensor_name(layer, module);
      add(base + ".lora_a", gguf_encoded(f32_matrix(m.a, m.rank, int64_t(m.a.size()) / m.rank), dtype));
      add(base + ".lora_b", gguf_encoded(f32_matrix(m.b, int64_t(m.b.size()) / m.rank, m.rank), dtype));
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
  const auto modules = read_modules(g, model, alpha);
  expect_uniform_targets(g, model, modules);

  // Whet keeps llama.cpp's scale of the smallest rank; larger ranks fold theirs into B.
  int64_t smallest = INT64_MAX;
  for (const auto& layer : modules)
    for (const ModuleLora& m : layer)
      if (m.rank > 0) smallest = std::min(smallest, m.rank);
  LoraConfig config;
  config.rank = int(smallest);
  // llama.cpp reads alpha 0 as "no scaling" (scale 1), which alpha = rank gives here.
  config.alpha = alpha == 0.0 ? float(smallest) : float(alpha);
  config.dropout = 0.0f;
  config.rslora = false;
  return lora_from_modules(model, modules, config);
}

}  // namespace whet
