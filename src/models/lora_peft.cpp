#include "models/lora_peft.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include <fmt/ranges.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "io/json_fields.h"
#include "io/safetensors.h"
#include "kernels/quant.h"
#include "models/lora_modules.h"
#include "models/model_family.h"

namespace whet {

namespace {

// PEFT's name of a module inside the model: model.layers.3.self_attn.qkv_proj,
// GPT-2's transformer.h.3.attn.c_attn.
std::string module_key(const LlamaConfig& model, int layer, const AdapterModule& m) {
  return fmt::format("{}.{}.{}", family_of(model).hf_layers, layer, m.hf_path);
}

std::string tensor_name(const LlamaConfig& model, int layer, const AdapterModule& m, char which) {
  return fmt::format("base_model.model.{}.lora_{}.weight", module_key(model, layer, m), which);
}

// PEFT's test of a target_modules entry against a module's name (check_target_module_exists).
bool names_module(const std::string& key, const nlohmann::json& target) {
  const std::string& t = target.get_ref<const std::string&>();
  return key == t || key.ends_with("." + t);
}

// What adapter_config.json says about ranks and scales. PEFT 0.13 (LoraModel._create_and_replace)
// gives a module the first key of rank_pattern, then of alpha_pattern, that
// re.match(rf".*\.{key}$", module_key) accepts, and takes that one key's
// rank and alpha from the patterns, r and lora_alpha where a pattern lacks it.
struct PeftConfig {
  LoraConfig defaults;
  nlohmann::json target_modules;
  std::vector<std::pair<std::string, std::regex>> pattern_keys;  // in PEFT's order
  std::map<std::string, int> rank_pattern;
  std::map<std::string, double> alpha_pattern;

  bool targets(const std::string& key) const {
    if (target_modules.is_string()) return true;  // "all-linear", checked on reading
    for (const nlohmann::json& t : target_modules)
      if (names_module(key, t)) return true;
    return false;
  }
  // rank and scale of B·A for the module called `key`.
  std::pair<int, double> rank_and_scale(const std::string& key) const {
    const std::string* pattern = nullptr;
    for (const auto& [k, re] : pattern_keys)
      if (std::regex_search(key, re, std::regex_constants::match_continuous)) {
        pattern = &k;
        break;
      }
    const int r = pattern && rank_pattern.count(*pattern) ? rank_pattern.at(*pattern) : defaults.rank;
    const double alpha = pattern && alpha_pattern.count(*pattern) ? alpha_pattern.at(*pattern) : defaults.alpha;
    return {r, defaults.rslora ? alpha / std::sqrt(double(r)) : alpha / double(r)};
  }
};

// The keys of a pattern object in the file's order, which nlohmann::json does not keep.
std::vector<std::string> keys_in_file_order(const std::string& path, const char* field) {
  const auto file = MappedFile::open(path);
  const char* text = reinterpret_cast<const char*>(file->data());
  const nlohmann::ordered_json root = nlohmann::ordered_json::parse(text, text + file->size());
  std::vector<std::string> keys;
  for (const auto& item : root.at(field).items()) keys.push_back(item.key());
  return keys;
}

void read_patterns(const Fields& f, PeftConfig& c) {
  for (const char* field : {"rank_pattern", "alpha_pattern"}) {
    if (!f.has(field)) continue;
    const Fields pattern = f.object(field);
    for (const std::string& key : keys_in_file_order(f.path(), field)) {
      if (std::string(field) == "rank_pattern") c.rank_pattern[key] = pattern.positive_integer(key.c_str());
      else c.alpha_pattern[key] = pattern.number(key.c_str(), 0.0);
      try {
        c.pattern_keys.emplace_back(key, std::regex(".*\\." + key + "$"));
      } catch (const std::regex_error& e) {
        fail(f.path(), "field '{}': key '{}' is not a regular expression Whet can read ({})", field, key, e.what());
      }
    }
  }
}

PeftConfig read_adapter_config(const std::string& path, const LlamaConfig& model) {
  const nlohmann::json root = read_json_object(path);
  const Fields f(path, root);
  if (f.has("peft_type") && f.string("peft_type") != "LORA")
    fail(path, "field 'peft_type' is '{}': only LORA adapters are supported", f.string("peft_type"));
  if (f.boolean("use_dora", false)) fail(path, "field 'use_dora': DoRA adapters are not supported");
  if (f.has("bias") && f.string("bias") != "none") fail(path, "field 'bias' is '{}': only 'none' is supported", f.string("bias"));
  if (f.has("modules_to_save") && !root.at("modules_to_save").empty())
    fail(path, "field 'modules_to_save': fully trained extra modules are not supported");
  if (f.has("layers_to_transform"))
    fail(path, "field 'layers_to_transform': adapters on some layers only are not supported (Whet adapts a module in "
               "every layer or in none)");
  if (f.has("layer_replication")) fail(path, "field 'layer_replication': replicated layers are not supported");

  PeftConfig c;
  c.defaults.rank = f.positive_integer("r");
  c.defaults.alpha = float(f.number("lora_alpha", c.defaults.rank));
  c.defaults.dropout = float(f.number("lora_dropout", 0.0));
  c.defaults.rslora = f.boolean("use_rslora", false);
  read_patterns(f, c);
  if (!f.has("target_modules")) fail(path, "missing field 'target_modules'");
  c.target_modules = root.at("target_modules");
  const std::vector<AdapterModule> modules = adapter_modules(model);
  if (c.target_modules.is_string() && c.target_modules.get<std::string>() == "all-linear") return c;
  if (!c.target_modules.is_array()) fail(path, "field 'target_modules' must be a list of module names or \"all-linear\"");
  if (c.target_modules.empty()) fail(path, "field 'target_modules' names no module");
  for (const nlohmann::json& t : c.target_modules) {
    bool found = false;
    for (int layer = 0; layer < model.num_layers; ++layer)
      for (const AdapterModule& m : modules) found = found || (t.is_string() && names_module(module_key(model, layer, m), t));
    if (!found) {
      std::vector<std::string_view> names;
      for (const AdapterModule& m : modules) names.push_back(m.target);
      fail(path, "field 'target_modules': {} is not a module of a {} block (its modules: {})", t.dump(),
           family_of(model).name, fmt::join(names, ", "));
    }
  }
  return c;
}

}  // namespace

void save_peft_adapter(const LlamaLora& lora, const LlamaConfig& model, const std::string& dir,
                       const std::string& base_model) {
  std::filesystem::create_directories(dir);
  const std::vector<AdapterModule> modules = adapter_modules(model);
  std::vector<std::vector<ModuleLora>> stacked(lora.layers.size());
  for (int layer = 0; layer < int(lora.layers.size()); ++layer)
    for (const AdapterModule& m : modules) stacked[layer].push_back(stack_parts(lora, model, layer, m));

  nlohmann::ordered_json config;
  config["peft_type"] = "LORA";
  config["task_type"] = "CAUSAL_LM";
  config["base_model_name_or_path"] = base_model;
  config["r"] = lora.config.rank;
  config["lora_alpha"] = lora.config.alpha;
  config["lora_dropout"] = lora.config.dropout;
  config["use_rslora"] = lora.config.rslora;
  config["bias"] = "none";
  config["fan_in_fan_out"] = family_of(model).hf_matrices_transposed;  // GPT-2's Conv1D modules
  config["inference_mode"] = true;
  // A fused module with m adapted parts has rank m·r; the alpha that keeps the
  // scale there is alpha·m (alpha·sqrt(m) under rsLoRA).
  std::vector<std::string_view> targets;
  nlohmann::ordered_json rank_pattern = nlohmann::ordered_json::object(), alpha_pattern = nlohmann::ordered_json::object();
  for (size_t i = 0; i < modules.size(); ++i) {
    const int64_t rank = lora.layers.empty() ? 0 : stacked[0][i].rank;
    if (rank == 0) continue;
    targets.push_back(modules[i].target);
    if (rank == lora.config.rank) continue;
    const double blocks = double(rank / lora.config.rank);
    rank_pattern[std::string(modules[i].target)] = rank;
    alpha_pattern[std::string(modules[i].target)] = lora.config.alpha * (lora.config.rslora ? std::sqrt(blocks) : blocks);
  }
  config["target_modules"] = targets;
  config["rank_pattern"] = rank_pattern;
  config["alpha_pattern"] = alpha_pattern;

  std::vector<TensorView> views;
  auto add = [&](const std::string& name, const std::vector<float>& t, int64_t rows, int64_t cols) {
    views.push_back(TensorView{name, DType::F32, {rows, cols}, reinterpret_cast<const uint8_t*>(t.data()),
                               t.size() * sizeof(float)});
  };
  for (int layer = 0; layer < int(stacked.size()); ++layer) {
    for (size_t i = 0; i < modules.size(); ++i) {
      const ModuleLora& m = stacked[layer][i];
      if (m.rank == 0) continue;
      add(tensor_name(model, layer, modules[i], 'A'), m.a, m.rank, int64_t(m.a.size()) / m.rank);
      add(tensor_name(model, layer, modules[i], 'B'), m.b, int64_t(m.b.size()) / m.rank, m.rank);
    }
  }
  write_safetensors(dir + "/adapter_model.safetensors", views);
  write_file_atomic(dir + "/adapter_config.json", config.dump(2) + "\n");
}

LlamaLora load_peft_adapter(const std::string& dir, const LlamaConfig& model) {
  const std::string config_path = dir + "/adapter_config.json";
  if (!std::filesystem::exists(config_path)) fail(dir, "not a PEFT adapter: adapter_config.json is missing");
  const PeftConfig config = read_adapter_config(config_path, model);
  const std::string weights_path = dir + "/adapter_model.safetensors";
  const SafetensorsFile file = SafetensorsFile::open(weights_path);
  const std::vector<AdapterModule> modules = adapter_modules(model);
  std::vector<std::vector<ModuleLora>> found(model.num_layers, std::vector<ModuleLora>(modules.size()));
  std::set<std::string> used;
  auto read = [&](const std::string& name, std::vector<float>& out, int64_t rows, int64_t cols) {
    // PEFT writes some adapters with the adapter name inside the key; accept both spellings.
    const TensorView* view = file.find_tensor(name);
    if (!view) view = file.find_tensor(name.substr(0, name.size() - 7) + ".default.weight");
    if (!view) fail(weights_path, "missing tensor '{}'", name);
    if (view->shape != std::vector<int64_t>{rows, cols})
      fail(weights_path, "tensor '{}' has shape [{}], expected [{}, {}]", view->name, fmt::join(view->shape, ", "), rows, cols);
    out.resize(size_t(rows * cols));
    dequantize(view->dtype, view->data, out.data(), view->numel());
    used.insert(view->name);
  };
  for (int layer = 0; layer < model.num_layers; ++layer) {
    for (size_t i = 0; i < modules.size(); ++i) {
      const std::string key = module_key(model, layer, modules[i]);
      if (!config.targets(key)) continue;
      const auto [rank, scale] = config.rank_and_scale(key);
      ModuleLora& m = found[layer][i];
      m.rank = rank;
      m.scale = scale;
      const auto [rows, in] = module_shape(model, modules[i]);
      read(tensor_name(model, layer, modules[i], 'A'), m.a, rank, in);
      read(tensor_name(model, layer, modules[i], 'B'), m.b, rows, rank);
    }
  }
  for (const TensorView& t : file.tensors)
    if (!used.count(t.name)) fail(weights_path, "tensor '{}' belongs to no targeted projection of this model", t.name);
  for (size_t i = 0; i < modules.size(); ++i) {
    int adapted = 0;
    for (const auto& layer : found) adapted += layer[i].rank > 0;
    if (adapted > 0 && adapted < model.num_layers)
      fail(config_path, "field 'target_modules' adapts {} in {} of {} layers, and Whet adapts a module in every layer "
           "or in none", modules[i].target, adapted, model.num_layers);
  }
  return lora_from_modules(model, found, config.defaults);
}

}  // namespace whet
