#pragma once
// The model families Whet runs, one file each (family_*.cpp): how a family's
// files name it, the hyperparameters its GGUF keys and config.json fields add to
// the common ones, and what its block changes (LlamaConfig's variations).
// The loaders and writers find a family here and never test a family by name.
#include <nlohmann/json.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "models/llama_config.h"

namespace whet {

class Fields;
class GgufFile;
class GgufWriter;

// A tensor that a family's files hold for several of Whet's weights, their rows
// stacked in the order of `parts` (Phi-3's qkv_proj, and gate_up_proj with the gate
// first; GPT-2's c_attn). Their biases, where the model has them, are fused the same way.
struct FusedTensor {
  std::string_view gguf_part;  // blk.N.<gguf_part>.weight (and .bias)
  std::string_view hf_part;    // <hf_layers>.N.<hf_part>.weight
  std::span<const std::string_view> parts;  // Whet's names of the stacked weights, e.g. attn_q, attn_k, attn_v
};

// A Hugging Face name for a GGUF one, without the layer and the .weight/.bias:
// attn_q -> self_attn.q_proj, token_embd -> model.embed_tokens.
struct NamePart {
  std::string_view gguf, hf;
};

struct ModelFamily {
  std::string_view name;            // LlamaConfig::family: "llama", "mistral", "qwen2", "gemma3", "phi3", "gpt2"
  std::string_view gguf_name;       // general.architecture in the GGUF files llama.cpp writes
  std::string_view hf_class;        // config.json architectures[0], as Whet writes it
  std::string_view hf_model_type;   // config.json model_type
  std::span<const std::string_view> hf_classes;  // every class name read as this family
  // llama.cpp interleaves the rotary pairs of q/k rows for the "llama" GGUF
  // architecture only; the others keep Hugging Face's order.
  bool gguf_qk_interleaved = false;
  std::span<const FusedTensor> fused_tensors;  // empty: every weight is a tensor of its own
  // Hugging Face tensor names: block N's are <hf_layers>.N.<part>; hf_names are
  // the family's own parts, looked up before Llama's (llama.cpp, hf_tensor_name).
  std::string_view hf_layers = "model.layers";
  std::span<const NamePart> hf_names;
  // Hugging Face stores the block's matrices [in, out] (GPT-2's Conv1D), transposed
  // against Whet and GGUF: the reader and writer transpose them.
  bool hf_matrices_transposed = false;

  // A family whose config.json names the common fields its own way (GPT-2's n_embd)
  // copies them under the common names into `common`, reading its own through `fields`
  // so that errors name them. Null: the file uses the common names.
  void (*common_hf_fields)(const Fields& fields, nlohmann::json& common) = nullptr;

  // Sets the family's variations and reads its own keys: GGUF `<gguf_name>.*`
  // (after the common ones), config.json fields (after the common ones).
  void (*from_gguf)(const GgufFile& gguf, LlamaConfig& config) = nullptr;
  void (*from_hf)(const Fields& fields, LlamaConfig& config) = nullptr;
  // Writes the family's own config.json fields and GGUF keys.
  void (*to_hf)(const LlamaConfig& config, nlohmann::ordered_json& json) = nullptr;
  void (*to_gguf)(const LlamaConfig& config, GgufWriter& gguf) = nullptr;
};

std::span<const ModelFamily* const> model_families();
const ModelFamily& family_of(const LlamaConfig& config);
// Null when no family reads that name.
const ModelFamily* family_by_gguf_name(std::string_view gguf_architecture);
const ModelFamily* family_by_hf_class(std::string_view hf_class);
// Where one of Whet's weights (blk.N.attn_q.weight, or its bias) lies in a family's
// files that fuse it: the fused tensor's names, its extent along the stacking axis
// (rows of a matrix, elements of a bias) and where the weight begins along it.
struct FusedPlace {
  std::string gguf_name, hf_name;
  int64_t total = 0, first = 0;
  bool first_part = false;  // the weight whose turn it is to write the fused tensor
};
// Nothing when the family's files hold that weight on its own.
std::optional<FusedPlace> fused_place(const std::string& name, const LlamaConfig& config);
// Whether the family's Hugging Face files hold the tensor of that GGUF name and
// (rows, cols) transposed: a block's matrix in a family with hf_matrices_transposed.
bool hf_transposed(const LlamaConfig& config, std::string_view gguf_name, int64_t rows);

// The family's one gate activation: config.json field `key` (hidden_act, or Gemma's
// hidden_activation) absent or equal to `supported`, else an error naming the field.
void expect_activation(const Fields& fields, const char* key, std::string_view supported);
// "llama, qwen2, gemma3" (GGUF) or "LlamaForCausalLM, ..." (Hugging Face), for error messages.
std::string supported_gguf_architectures();
std::string supported_hf_classes();

// The families, defined in their files.
const ModelFamily& llama_family();
const ModelFamily& mistral_family();
const ModelFamily& qwen2_family();
const ModelFamily& gemma3_family();
const ModelFamily& phi3_family();
const ModelFamily& gpt2_family();

}  // namespace whet
