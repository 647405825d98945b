#include "models/lora_adapter.h"

#include <cmath>
#include <random>

#include "core/error.h"
#include "models/lora_modules.h"

namespace whet {

std::optional<Projection> projection_from_name(std::string_view name) {
  if (name.ends_with("_proj")) name.remove_suffix(5);
  for (int p = 0; p < kProjections; ++p)
    if (kProjectionNames[p] == name) return Projection(p);
  return std::nullopt;
}

std::pair<int64_t, int64_t> projection_shape(const LlamaConfig& c, Projection p) {
  const int64_t q_dim = int64_t(c.num_heads) * c.head_dim, kv_dim = int64_t(c.num_kv_heads) * c.head_dim;
  switch (p) {
    case Projection::Q: return {q_dim, c.hidden_size};
    case Projection::K:
    case Projection::V: return {kv_dim, c.hidden_size};
    case Projection::O: return {c.hidden_size, q_dim};
    case Projection::Gate:
    case Projection::Up: return {c.intermediate_size, c.hidden_size};
    case Projection::Down: return {c.hidden_size, c.intermediate_size};
  }
  WHET_ASSERT(false && "unknown projection");
  return {0, 0};
}

float LoraConfig::scale() const {
  return (rslora ? alpha / std::sqrt(float(rank)) : alpha / float(rank)) * strength;
}

LlamaLora make_lora(const LlamaConfig& model, const LoraConfig& config, uint64_t seed) {
  LlamaLora lora{config, std::vector<std::array<LoraMatrices, kProjections>>(model.num_layers)};
  std::mt19937_64 rng(seed);
  for (auto& layer : lora.layers) {
    for (Projection p : config.targets) {
      if (p == Projection::Gate && !model.gated_mlp) continue;  // all-linear on an MLP without a gate
      const auto [out, in] = projection_shape(model, p);
      LoraMatrices& m = layer[int(p)];
      m.a.resize(size_t(config.rank * in));
      m.b.assign(size_t(out * config.rank), 0.0f);
      const double bound = 1.0 / std::sqrt(double(in));
      for (float& x : m.a) x = float((double(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0) * bound);
    }
  }
  return lora;
}

LlamaLora zeros_like(const LlamaLora& lora) {
  LlamaLora zeros = lora;
  zero_lora(zeros);
  return zeros;
}

void zero_lora(LlamaLora& lora) {
  for (auto& layer : lora.layers)
    for (LoraMatrices& m : layer) {
      std::fill(m.a.begin(), m.a.end(), 0.0f);
      std::fill(m.b.begin(), m.b.end(), 0.0f);
    }
}

void add_scaled_lora(LlamaLora& dst, const LlamaLora& src, float w) {
  if (w == 0) return;
  WHET_ASSERT(dst.layers.size() == src.layers.size());
  for (size_t l = 0; l < dst.layers.size(); ++l) {
    WHET_ASSERT(dst.layers[l].size() == src.layers[l].size());
    for (size_t i = 0; i < dst.layers[l].size(); ++i) {
      LoraMatrices& d = dst.layers[l][i];
      const LoraMatrices& s = src.layers[l][i];
      WHET_ASSERT(d.a.size() == s.a.size() && d.b.size() == s.b.size());
      for (size_t k = 0; k < d.a.size(); ++k) d.a[k] += w * s.a[k];
      for (size_t k = 0; k < d.b.size(); ++k) d.b[k] += w * s.b[k];
    }
  }
}

void for_each_lora_tensor(LlamaLora& lora,
                          const std::function<void(const std::string&, std::vector<float>&, int64_t, int64_t)>& fn) {
  for (size_t i = 0; i < lora.layers.size(); ++i) {
    for (int p = 0; p < kProjections; ++p) {
      LoraMatrices& m = lora.layers[i][p];
      if (m.empty()) continue;
      const int64_t rank = lora.config.rank;
      const std::string prefix = fmt::format("base_model.model.model.layers.{}.{}.", i, hf_module_path(Projection(p)));
      fn(prefix + "lora_A.weight", m.a, rank, int64_t(m.a.size()) / rank);
      fn(prefix + "lora_B.weight", m.b, int64_t(m.b.size()) / rank, rank);
    }
  }
}

LoraView lora_view(const LlamaLora* lora, LlamaLora* grads, int layer, Projection p, float dropout, uint64_t seed) {
  if (!lora) return {};
  const LoraMatrices& m = lora->layers[layer][int(p)];
  if (m.empty()) return {};
  LoraView view;
  view.a = m.a.data();
  view.b = m.b.data();
  if (grads) {
    view.grad_a = grads->layers[layer][int(p)].a.data();
    view.grad_b = grads->layers[layer][int(p)].b.data();
  }
  view.rank = lora->config.rank;
  view.scale = lora->config.scale();
  view.dropout = dropout;
  view.dropout_seed = seed;
  return view;
}

}  // namespace whet
