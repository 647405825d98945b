#include "models/model_family.h"

#include <cstdio>

#include "core/error.h"
#include "io/json_fields.h"
#include "models/llama.h"

namespace whet {

std::span<const ModelFamily* const> model_families() {
  static const ModelFamily* const kFamilies[] = {&llama_family(), &mistral_family(), &qwen2_family(),
                                                 &gemma3_family(), &phi3_family()};
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
  char part[64] = {0};
  if (std::sscanf(name.c_str(), "blk.%d.%63[a-z_].weight", &layer, part) != 2) return std::nullopt;
  for (const FusedTensor& fused : family_of(config).fused_tensors) {
    FusedPlace place{fmt::format("blk.{}.{}.weight", layer, fused.gguf_part),
                     fmt::format("model.layers.{}.{}.weight", layer, fused.hf_part)};
    std::optional<int64_t> first_row;
    for (std::string_view p : fused.parts) {
      if (p == part) first_row = place.total_rows;
      place.total_rows += llama_tensor_shape(fmt::format("blk.{}.{}.weight", layer, p), config).first;
    }
    if (!first_row) continue;
    place.first_row = *first_row;
    place.first_part = fused.parts.front() == part;
    return place;
  }
  return std::nullopt;
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
