#include "models/lora_modules.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"
#include "models/llama.h"
#include "models/model_family.h"

namespace whet {

namespace {

// GGUF's name of each projection, in Projection order.
constexpr std::array<std::string_view, kProjections> kGgufParts = {"attn_q",   "attn_k", "attn_v",  "attn_output",
                                                                   "ffn_gate", "ffn_up", "ffn_down"};

Projection projection_of_gguf_part(std::string_view part) {
  const auto it = std::find(kGgufParts.begin(), kGgufParts.end(), part);
  WHET_ASSERT(it != kGgufParts.end() && "a fused tensor's part is a projection");
  return Projection(it - kGgufParts.begin());
}

// The weight's module inside a layer of the family's Hugging Face model:
// "self_attn.q_proj", GPT-2's "attn.c_proj".
std::string hf_layer_path(const LlamaConfig& model, std::string_view gguf_part) {
  const std::string full = hf_tensor_name(fmt::format("blk.0.{}.weight", gguf_part), model);
  const size_t prefix = fmt::format("{}.0.", family_of(model).hf_layers).size();
  return full.substr(prefix, full.size() - prefix - std::string_view(".weight").size());
}

std::string_view last_component(std::string_view path) {
  const size_t dot = path.rfind('.');
  return path.substr(dot == std::string_view::npos ? 0 : dot + 1);
}

}  // namespace

std::string hf_module_path(Projection p) { return hf_layer_path(LlamaConfig{}, kGgufParts[int(p)]); }

std::vector<AdapterModule> adapter_modules(const LlamaConfig& model) {
  std::vector<AdapterModule> modules;
  std::array<bool, kProjections> covered{};
  for (int p = 0; p < kProjections; ++p) {
    if (covered[p] || (Projection(p) == Projection::Gate && !model.gated_mlp)) continue;
    const FusedTensor* fused = nullptr;
    for (const FusedTensor& f : family_of(model).fused_tensors)
      if (std::find(f.parts.begin(), f.parts.end(), kGgufParts[p]) != f.parts.end()) fused = &f;
    if (!fused) {
      modules.push_back({hf_layer_path(model, kGgufParts[p]), std::string(kGgufParts[p]), {Projection(p)}, ""});
      continue;
    }
    AdapterModule m{std::string(fused->hf_part), std::string(fused->gguf_part), {}, ""};
    for (std::string_view part : fused->parts) {
      m.parts.push_back(projection_of_gguf_part(part));
      covered[int(m.parts.back())] = true;
    }
    modules.push_back(std::move(m));
  }
  // PEFT names a target by the module's last name, unless two modules share it
  // (GPT-2's attn.c_proj and mlp.c_proj): then by its path in the layer.
  for (AdapterModule& m : modules) {
    const auto shared = std::count_if(modules.begin(), modules.end(), [&](const AdapterModule& other) {
      return last_component(other.hf_path) == last_component(m.hf_path);
    });
    m.target = shared > 1 ? m.hf_path : std::string(last_component(m.hf_path));
  }
  return modules;
}

std::pair<int64_t, int64_t> module_shape(const LlamaConfig& model, const AdapterModule& module) {
  int64_t rows = 0;
  for (Projection p : module.parts) rows += projection_shape(model, p).first;
  return {rows, projection_shape(model, module.parts[0]).second};
}

ModuleLora stack_parts(const LlamaLora& lora, const LlamaConfig& model, int layer, const AdapterModule& module) {
  const int64_t r = lora.config.rank;
  std::vector<const LoraMatrices*> adapted;  // per part, null without an adapter
  for (Projection p : module.parts) {
    const LoraMatrices& m = lora.layers[layer][int(p)];
    adapted.push_back(m.empty() ? nullptr : &m);
  }
  const LoraMatrices* first = nullptr;
  int64_t blocks = 0;
  bool one_a = true;  // every adapted part has the same A
  for (const LoraMatrices* m : adapted) {
    if (!m) continue;
    ++blocks;
    if (!first) first = m;
    one_a = one_a && m->a == first->a;
  }
  ModuleLora out;
  if (blocks == 0) return out;
  // Parts that share one A, as the parts of a module read from a file do, keep it
  // once and B's rows simply stack: writing such an adapter again keeps its rank.
  if (one_a) blocks = 1;
  out.rank = blocks * r;
  out.scale = lora.config.scale();
  const int64_t rows = module_shape(model, module).first;
  out.b.assign(size_t(rows * out.rank), 0.0f);
  int64_t first_row = 0, block = 0;
  for (size_t i = 0; i < module.parts.size(); ++i) {
    const int64_t part_rows = projection_shape(model, module.parts[i]).first;
    if (const LoraMatrices* m = adapted[i]) {
      if (out.a.empty() || !one_a) out.a.insert(out.a.end(), m->a.begin(), m->a.end());
      for (int64_t row = 0; row < part_rows; ++row)
        std::copy_n(m->b.begin() + row * r, r, out.b.begin() + (first_row + row) * out.rank + block * r);
      if (!one_a) ++block;
    }
    first_row += part_rows;
  }
  return out;
}

LlamaLora lora_from_modules(const LlamaConfig& model, const std::vector<std::vector<ModuleLora>>& modules,
                            LoraConfig defaults) {
  const std::vector<AdapterModule> names = adapter_modules(model);
  WHET_ASSERT(modules.size() == size_t(model.num_layers));
  int64_t rank = 0;
  defaults.targets.clear();
  for (size_t i = 0; i < names.size(); ++i) {
    for (const auto& layer : modules) {
      WHET_ASSERT((layer[i].rank > 0) == (modules[0][i].rank > 0) && "a module is adapted in every layer or in none");
      rank = std::max(rank, layer[i].rank);
    }
    if (modules[0][i].rank > 0) defaults.targets.insert(defaults.targets.end(), names[i].parts.begin(), names[i].parts.end());
  }
  WHET_ASSERT(rank > 0);
  std::sort(defaults.targets.begin(), defaults.targets.end());
  // The same scale at the larger rank.
  const double scale = defaults.scale();
  defaults.rank = int(rank);
  defaults.alpha = float(defaults.rslora ? scale * std::sqrt(double(rank)) : scale * double(rank));

  LlamaLora lora = make_lora(model, defaults, 0);
  const double whet_scale = lora.config.scale();
  for (int layer = 0; layer < model.num_layers; ++layer) {
    for (size_t i = 0; i < names.size(); ++i) {
      const ModuleLora& file = modules[layer][i];
      if (file.rank == 0) continue;
      const float ratio = float(file.scale / whet_scale);
      int64_t first_row = 0;
      for (Projection p : names[i].parts) {
        const auto [rows, in] = projection_shape(model, p);
        LoraMatrices& m = lora.layers[layer][int(p)];
        std::fill(m.a.begin(), m.a.end(), 0.0f);
        std::fill(m.b.begin(), m.b.end(), 0.0f);
        std::copy(file.a.begin(), file.a.end(), m.a.begin());  // rows past the file's rank stay zero
        for (int64_t row = 0; row < rows; ++row)
          for (int64_t k = 0; k < file.rank; ++k)
            m.b[size_t(row * rank + k)] = file.b[size_t((first_row + row) * file.rank + k)] * ratio;
        first_row += rows;
      }
    }
  }
  return lora;
}

}  // namespace whet
