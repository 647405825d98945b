// Hugging Face config.json <-> LlamaConfig: the fields every family shares here,
// the family's own in its file (model_family.h). Absent optional fields take the
// defaults of transformers' config classes, so a file means here what it means there.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/json_fields.h"
#include "models/llama_config.h"
#include "models/model_family.h"

namespace whet {

namespace {

using nlohmann::json;

const ModelFamily& read_family(const Fields& f) {
  const json& list = f.array("architectures");
  if (list.empty() || !list[0].is_string())
    fail(f.path(), "field 'architectures' must name the model class, e.g. [\"LlamaForCausalLM\"]");
  const std::string name = list[0].get<std::string>();
  const ModelFamily* family = family_by_hf_class(name);
  if (!family) fail(f.path(), "unsupported architecture '{}' (supported: {})", name, supported_hf_classes());
  return *family;
}

void read_dimensions(const Fields& f, LlamaConfig& c) {
  c.vocab_size = f.positive_integer("vocab_size");
  c.hidden_size = f.positive_integer("hidden_size");
  c.intermediate_size = f.positive_integer("intermediate_size");
  c.num_layers = f.positive_integer("num_hidden_layers");
  c.num_heads = f.positive_integer("num_attention_heads");
  c.num_kv_heads = f.positive_integer("num_key_value_heads", c.num_heads);
  if (c.num_heads % c.num_kv_heads != 0)
    fail(f.path(), "num_attention_heads {} is not a multiple of num_key_value_heads {}", c.num_heads, c.num_kv_heads);
  if (!f.has("head_dim") && c.hidden_size % c.num_heads != 0)
    fail(f.path(), "hidden_size {} is not a multiple of num_attention_heads {} and no head_dim is given", c.hidden_size,
         c.num_heads);
  c.head_dim = f.positive_integer("head_dim", c.hidden_size / c.num_heads);
  if (c.head_dim % 2 != 0) fail(f.path(), "head_dim {} is odd; rotary embeddings need pairs", c.head_dim);
  c.max_position_embeddings = f.positive_integer("max_position_embeddings", 2048);
}

// One positive factor per rotated pair.
std::vector<float> pair_factors(const Fields& s, const char* key, int pairs) {
  const nlohmann::json& list = s.array(key);
  if (int(list.size()) != pairs) fail(s.path(), "field '{}' has {} factors, expected {} (head_dim / 2)", s.name(key), list.size(), pairs);
  std::vector<float> factors;
  for (const nlohmann::json& v : list) {
    if (!v.is_number() || v.get<double>() <= 0) fail(s.path(), "field '{}' holds {}, not a positive number", s.name(key), v.dump());
    factors.push_back(v.get<float>());
  }
  return factors;
}

// Phi-3's longrope: the original context is a top-level field in its configs,
// and the attention factor follows from how far the context was stretched.
RopeScaling read_longrope(const Fields& s, const Fields& f, const LlamaConfig& c) {
  RopeScaling r;
  r.type = RopeScalingType::LongRope;
  r.short_factors = pair_factors(s, "short_factor", c.head_dim / 2);
  r.long_factors = pair_factors(s, "long_factor", c.head_dim / 2);
  r.original_max_position_embeddings = s.has("original_max_position_embeddings")
                                           ? s.positive_integer("original_max_position_embeddings")
                                           : f.positive_integer("original_max_position_embeddings");
  r.attention_factor = s.has("attention_factor") ? s.positive_number("attention_factor")
                                                 : longrope_attention_factor(c.max_position_embeddings,
                                                                             r.original_max_position_embeddings);
  return r;
}

RopeScaling read_rope_scaling(const Fields& s, const Fields& f, const LlamaConfig& c) {
  const char* type_key = s.has("rope_type") ? "rope_type" : "type";  // "type" is the older spelling
  const std::string type = s.string(type_key);
  RopeScaling r;
  if (type == "default") return r;
  if (type == "longrope" || type == "su") return read_longrope(s, f, c);
  if (type != "linear" && type != "llama3")
    fail(s.path(), "field '{}' = '{}' is not supported (supported: default, linear, llama3, longrope)", s.name(type_key),
         type);
  r.factor = s.positive_number("factor");
  if (type == "linear") {
    r.type = RopeScalingType::Linear;
    return r;
  }
  r.type = RopeScalingType::Llama3;
  r.low_freq_factor = s.positive_number("low_freq_factor");
  r.high_freq_factor = s.positive_number("high_freq_factor");
  r.original_max_position_embeddings = s.positive_integer("original_max_position_embeddings");
  if (r.high_freq_factor <= r.low_freq_factor)
    fail(s.path(), "{} {} must exceed {} {}", s.name("high_freq_factor"), r.high_freq_factor, s.name("low_freq_factor"),
         r.low_freq_factor);
  return r;
}

// transformers 5 moved rope_theta and the scaling into "rope_parameters"; older files have
// top-level rope_theta and rope_scaling.
void read_rope(const Fields& f, LlamaConfig& c) {
  const char* key = f.has("rope_parameters") ? "rope_parameters" : "rope_scaling";
  const std::optional<Fields> params = f.has(key) ? std::optional(f.object(key)) : std::nullopt;
  c.rope_theta = params && params->has("rope_theta") ? params->positive_number("rope_theta")
                                                     : f.positive_number("rope_theta", 10000.0f);
  if (params) c.rope_scaling = read_rope_scaling(*params, f, c);
}

// generation_config.json often lists more end tokens than config.json (Llama 3 adds <|eot_id|>).
void merge_generation_config(const std::string& config_path, LlamaConfig& c) {
  const auto path = (std::filesystem::path(config_path).parent_path() / "generation_config.json").string();
  if (!std::filesystem::exists(path)) return;
  for (int id : Fields(path, read_json_object(path)).token_ids("eos_token_id"))
    if (std::ranges::find(c.eos_token_ids, id) == c.eos_token_ids.end()) c.eos_token_ids.push_back(id);
}

// Shortest decimal that reads back as the same float: 1e-5f is written 1e-05, not 9.999999747378752e-06.
double decimal(float v) { return std::stod(fmt::format("{}", v)); }

std::vector<double> decimals(const std::vector<float>& values) {
  std::vector<double> out;
  for (float v : values) out.push_back(decimal(v));
  return out;
}

nlohmann::ordered_json rope_scaling_json(const RopeScaling& r) {
  switch (r.type) {
    case RopeScalingType::None: return nullptr;
    case RopeScalingType::Linear: return {{"rope_type", "linear"}, {"factor", decimal(r.factor)}};
    case RopeScalingType::Llama3:
      return {{"rope_type", "llama3"},
              {"factor", decimal(r.factor)},
              {"low_freq_factor", decimal(r.low_freq_factor)},
              {"high_freq_factor", decimal(r.high_freq_factor)},
              {"original_max_position_embeddings", r.original_max_position_embeddings}};
    // transformers' Phi-3 config accepts these three fields and no others.
    case RopeScalingType::LongRope:
      return {{"type", "longrope"}, {"short_factor", decimals(r.short_factors)}, {"long_factor", decimals(r.long_factors)}};
  }
  WHET_ASSERT(false && "unknown rope scaling type");
}

nlohmann::ordered_json eos_json(const std::vector<int>& ids) {
  if (ids.empty()) return nullptr;
  if (ids.size() == 1) return ids[0];
  return ids;
}

}  // namespace

LlamaConfig read_hf_config(const std::string& path) {
  const json file = read_json_object(path);
  const ModelFamily& family = read_family(Fields(path, file));
  json root = file;
  if (family.common_hf_fields) family.common_hf_fields(Fields(path, file), root);
  const Fields f(path, root);
  LlamaConfig c;
  c.family = family.name;
  read_dimensions(f, c);
  read_rope(f, c);
  c.norm_eps = f.positive_number("rms_norm_eps", 1e-6f);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  c.bos_token_id = f.has("bos_token_id") ? f.token_id("bos_token_id") : -1;
  c.eos_token_ids = f.token_ids("eos_token_id");
  family.from_hf(f, c);
  merge_generation_config(path, c);
  return c;
}

void write_hf_config(const std::string& path, const LlamaConfig& c) {
  nlohmann::ordered_json j;
  const ModelFamily& family = family_of(c);
  j["architectures"] = nlohmann::ordered_json::array({std::string(family.hf_class)});
  j["model_type"] = family.hf_model_type;
  // The exported weights' encoding is not known here; float32 loads any of them without loss.
  j["torch_dtype"] = "float32";
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_layers;
  j["num_attention_heads"] = c.num_heads;
  j["num_key_value_heads"] = c.num_kv_heads;
  j["head_dim"] = c.head_dim;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rope_theta"] = decimal(c.rope_theta);
  j["rope_scaling"] = rope_scaling_json(c.rope_scaling);
  j["rms_norm_eps"] = decimal(c.norm_eps);
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["bos_token_id"] = c.bos_token_id >= 0 ? nlohmann::ordered_json(c.bos_token_id) : nlohmann::ordered_json(nullptr);
  j["eos_token_id"] = eos_json(c.eos_token_ids);
  family.to_hf(c, j);
  write_file_atomic(path, j.dump(2) + "\n");
}

}  // namespace whet
