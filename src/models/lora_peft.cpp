#include "models/lora_peft.h"

#include <filesystem>
#include <set>

#include <fmt/ranges.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/json_fields.h"
#include "kernels/quant.h"
#include "io/safetensors.h"

namespace whet {

namespace {

// PEFT names modules by their last path component.
std::string peft_module(Projection p) { return std::string(kProjectionNames[int(p)]) + "_proj"; }

LoraConfig read_adapter_config(const std::string& path) {
  const nlohmann::json root = read_json_object(path);
  const Fields f(path, root);
  if (f.has("peft_type") && f.string("peft_type") != "LORA")
    fail(path, "field 'peft_type' is '{}': only LORA adapters are supported", f.string("peft_type"));
  if (f.boolean("use_dora", false)) fail(path, "field 'use_dora': DoRA adapters are not supported");
  if (f.has("bias") && f.string("bias") != "none") fail(path, "field 'bias' is '{}': only 'none' is supported", f.string("bias"));
  for (const char* key : {"rank_pattern", "alpha_pattern"})
    if (f.has(key) && !root.at(key).empty()) fail(path, "field '{}': per-module ranks are not supported", key);
  if (f.has("modules_to_save") && !root.at("modules_to_save").empty())
    fail(path, "field 'modules_to_save': fully trained extra modules are not supported");

  LoraConfig c;
  c.rank = f.positive_integer("r");
  c.alpha = float(f.number("lora_alpha", c.rank));
  c.dropout = float(f.number("lora_dropout", 0.0));
  c.rslora = f.boolean("use_rslora", false);
  c.targets.clear();
  const nlohmann::json& modules = root.at("target_modules");
  if (modules.is_string() && modules.get<std::string>() == "all-linear") {
    for (int p = 0; p < kProjections; ++p) c.targets.push_back(Projection(p));
  } else if (modules.is_array()) {
    for (const nlohmann::json& m : modules) {
      const auto p = m.is_string() ? projection_from_name(m.get<std::string>()) : std::nullopt;
      if (!p) fail(path, "field 'target_modules': {} is not a projection of a Llama block", m.dump());
      c.targets.push_back(*p);
    }
  } else {
    fail(path, "field 'target_modules' must be a list of module names or \"all-linear\"");
  }
  return c;
}

}  // namespace

void save_peft_adapter(const LlamaLora& lora, const std::string& dir, const std::string& base_model) {
  std::filesystem::create_directories(dir);
  nlohmann::ordered_json config;
  config["peft_type"] = "LORA";
  config["task_type"] = "CAUSAL_LM";
  config["base_model_name_or_path"] = base_model;
  config["r"] = lora.config.rank;
  config["lora_alpha"] = lora.config.alpha;
  config["lora_dropout"] = lora.config.dropout;
  config["use_rslora"] = lora.config.rslora;
  config["bias"] = "none";
  config["fan_in_fan_out"] = false;
  config["inference_mode"] = true;
  std::vector<std::string> modules;
  for (Projection p : lora.config.targets) modules.push_back(peft_module(p));
  config["target_modules"] = modules;

  std::vector<TensorView> views;
  // for_each_lora_tensor hands out writable tensors for the loaders; nothing here writes through them.
  for_each_lora_tensor(const_cast<LlamaLora&>(lora), [&](const std::string& name, std::vector<float>& t, int64_t rows, int64_t cols) {
    views.push_back(TensorView{name, DType::F32, {rows, cols}, reinterpret_cast<const uint8_t*>(t.data()),
                               t.size() * sizeof(float)});
  });
  write_safetensors(dir + "/adapter_model.safetensors", views);
  write_file_atomic(dir + "/adapter_config.json", config.dump(2) + "\n");
}

LlamaLora load_peft_adapter(const std::string& dir, const LlamaConfig& model) {
  const std::string config_path = dir + "/adapter_config.json";
  if (!std::filesystem::exists(config_path)) fail(dir, "not a PEFT adapter: adapter_config.json is missing");
  LlamaLora lora = make_lora(model, read_adapter_config(config_path), 0);
  const std::string weights_path = dir + "/adapter_model.safetensors";
  const SafetensorsFile file = SafetensorsFile::open(weights_path);
  std::set<std::string> used;
  for_each_lora_tensor(lora, [&](const std::string& name, std::vector<float>& t, int64_t rows, int64_t cols) {
    // PEFT writes some adapters with the adapter name inside the key; accept both spellings.
    const TensorView* view = file.find_tensor(name);
    if (!view) view = file.find_tensor(name.substr(0, name.size() - 7) + ".default.weight");
    if (!view) fail(weights_path, "missing tensor '{}'", name);
    if (view->shape != std::vector<int64_t>{rows, cols})
      fail(weights_path, "tensor '{}' has shape [{}], expected [{}, {}]", view->name, fmt::join(view->shape, ", "), rows, cols);
    dequantize(view->dtype, view->data, t.data(), view->numel());
    used.insert(view->name);
  });
  for (const TensorView& t : file.tensors)
    if (!used.count(t.name)) fail(weights_path, "tensor '{}' belongs to no targeted projection of this model", t.name);
  return lora;
}

}  // namespace whet
