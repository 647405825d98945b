#include "models/model_family.h"

#include <cstdio>

#include "core/error.h"
#include "io/json_fields.h"
#include "models/llama.h"

namespace whet {

std::span<const ModelFamily* const> model_families() {
  static const ModelFamily* const kFamilies[] = {&llama_family(), &mistral_family(), &qwen2_family(),
                                                 &gemma3_family(), &phi3_family(), &gpt2_family()};
  return kFamilies;
}

const ModelFamily& family_of(const LlamaConfig& config) {
  for (const ModelFamily* f : model_families())
    if (f->name == config.family) return *f;
  WHET_ASSERT(false && "a config of no known family");
  return llama_family();
}

const ModelFamily* family_by_gguf_name(std::string_view gguf_architecture) {
  // Mistral shares "llama" in GGUF: the first family of that name, Llama, reads it.
  for (const ModelFamily* f : model_families())
    if (f->gguf_name == gguf_architecture) return f;
  return nullptr;
}

const ModelFamily* family_by_hf_class(std::string_view hf_class) {
  for (const ModelFamily* f : model_families())
    for (std::string_view c : f->hf_classes)
      if (c == hf_class) return f;
  return nullptr;
}

std::optional<FusedPlace> fused_place(const std::string& name, const LlamaConfig& config) {
  int layer = -1;
  char part[64] = {0}, kind[8] = {0};
  if (std::sscanf(name.c_str(), "blk.%d.%63[a-z_].%7[a-z]", &layer, part, kind) != 3) return std::nullopt;
  const ModelFamily& family = family_of(config);
  for (const FusedTensor& fused : family.fused_tensors) {
    FusedPlace place{fmt::format("blk.{}.{}.{}", layer, fused.gguf_part, kind),
                     fmt::format("{}.{}.{}.{}", family.hf_layers, layer, fused.hf_part, kind)};
    std::optional<int64_t> first;
    for (std::string_view p : fused.parts) {
      if (p == part) first = place.total;
      const auto [rows, cols] = llama_tensor_shape(fmt::format("blk.{}.{}.{}", layer, p, kind), config);
      place.total += rows == 1 ? cols : rows;
    }
    if (!first) continue;
    place.first = *first;
    place.first_part = fused.parts.front() == part;
    return place;
  }
  return std::nullopt;
}

bool hf_transposed(const LlamaConfig& config, std::string_view gguf_name, int64_t rows) {
  return family_of(config).hf_matrices_transposed && gguf_name.starts_with("blk.") && rows > 1;
}

void expect_activation(const Fields& f, const char* key, std::string_view supported) {
  if (f.has(key) && f.string(key) != supported)
    fail(f.path(), "field '{}' = '{}' is not supported (supported: {})", key, f.string(key), supported);
}

std::string supported_gguf_architectures() {
  std::string names;
  for (const ModelFamily* f : model_families())
    if (names.find(f->gguf_name) == std::string::npos) names += (names.empty() ? "" : ", ") + std::string(f->gguf_name);
  return names;
}

std::string supported_hf_classes() {
  std::string names;
  for (const ModelFamily* f : model_families())
    for (std::string_view c : f->hf_classes) names += (names.empty() ? "" : ", ") + std::string(c);
  return names;
}

}  // namespace whet
