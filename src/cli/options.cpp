#include "cli/options.h"

#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "models/lora_files.h"
#include "track/model_uri.h"

namespace whet::cli {

void ModelOptions::add_to(CLI::App& command) {
  command.add_option("model,--model", path, "GGUF file or Hugging Face model directory (default: SmolLM2-135M-Instruct)");
  add_loading_options(command);
  command.add_option("--adapter", adapter,
                     "LoRA adapter: a PEFT directory (adapter_config.json, adapter_model.safetensors) or a GGUF "
                     "LoRA file (llama.cpp's --lora format), applied unmerged on top of the model");
  add_adapter_scale(command, adapter_scale);
}

namespace {

constexpr const char* kAdapterScaleHelp =
    "Multiply the adapter's update by this (its scale alpha/r times it): 0 gives the base model exactly, 1 the "
    "adapter as trained, values between weaken it";

}  // namespace

CLI::Option* add_adapter_scale(CLI::App& command, float& scale) {
  return command.add_option("--adapter-scale", scale, kAdapterScaleHelp)
      ->check(CLI::Range(-100.0f, 100.0f))
      ->capture_default_str();
}

CLI::Option* add_data_dir_option(CLI::App& command, std::string& data_dir, const std::string& help) {
  return command.add_option("--data-dir", data_dir, help)->capture_default_str();
}

CLI::Option* add_adapter_scale(CLI::App& command, std::vector<float>& scales) {
  return command
      .add_option("--adapter-scale", scales,
                  std::string(kAdapterScaleHelp) + "; repeatable: each adapter is evaluated at each value, as rows "
                                                   "named NAME α=VALUE (default: 1, rows named NAME)")
      ->check(CLI::Range(-100.0f, 100.0f));
}

CLI::Option* add_weights_option(CLI::App& command, std::string& weights, const std::string& what) {
  return command
      .add_option("--weights", weights,
                  "How " + what + " held: native (as in the file, decoded on use), f32 or bf16 (converted at load), "
                  "or auto (bf16 on CPUs with bf16 units, AMX or AVX512_BF16; f32 elsewhere)")
      ->check(CLI::IsMember({"native", "f32", "bf16", "auto"}))
      ->capture_default_str();
}

void ModelOptions::add_loading_options(CLI::App& command) {
  add_weights_option(command, weights, "the weights are");
  command.add_option("--threads", threads, "Worker threads (0: all cores)")->capture_default_str();
}

LoadedModel ModelOptions::load() const {
  LoadedModel loaded = load(path);
  if (!adapter.empty()) loaded.adapter = load_adapter(adapter, loaded, adapter_scale);
  return loaded;
}

LoadedModel ModelOptions::load(const std::string& model_path) const {
  if (threads > 0) omp_set_num_threads(threads);
  return load_model(model_path.empty() ? default_model_path() : model_path, *weight_format_from_name(weights));
}

std::shared_ptr<const LlamaLora> load_adapter(const std::string& path, const LoadedModel& model, float strength) {
  LlamaLora lora = load_lora_adapter(path, model.model.config);
  lora.config.strength = strength;
  auto adapter = std::make_shared<const LlamaLora>(std::move(lora));
  std::fprintf(stderr, "adapter %s: %s\n", path.c_str(), adapter_summary(adapter->config).c_str());
  return adapter;
}

std::string adapter_summary(const LoraConfig& config) {
  std::vector<std::string_view> targets;
  for (Projection p : config.targets) targets.push_back(kProjectionNames[int(p)]);
  const std::string strength = config.strength == 1.0f ? "" : fmt::format(" (--adapter-scale {})", config.strength);
  return fmt::format("rank {}, alpha {}, scale {}{}, on {}", config.rank, config.alpha, config.scale(), strength,
                     fmt::join(targets, ", "));
}

CLI::Option* add_data_dir(CLI::App& command, std::string& data_dir) {
  return command
      .add_option("--data-dir", data_dir,
                  "The server's data folder (whet serve --data-dir): its stores and the model registry")
      ->capture_default_str();
}

std::string registry_data_dir(const CLI::App& command) {
  const CLI::Option* given = command.get_option_no_throw("--data-dir");
  const char* env = std::getenv("WHET_DATA_DIR");
  return given && given->count() > 0 ? given->results().front()
         : env && *env               ? std::string(env)
                                     : std::string(kDefaultDataDir);
}

namespace {

// A value naming a registered version: "models:/..." or, where a command names
// its adapters (eval's rows, serve's adapters), "NAME=models:/...".
struct UriValue {
  std::string prefix, uri;
};
std::optional<UriValue> uri_in(const std::string& value) {
  const size_t at = value.find(track::kModelUriScheme);
  if (at == std::string::npos || (at > 0 && value[at - 1] != '=')) return std::nullopt;
  return UriValue{value.substr(0, at), value.substr(at)};
}

// Gives an option new values as if they had been typed, through its own callback.
void replace_values(CLI::Option& option, const std::vector<std::string>& values) {
  option.clear();
  for (const std::string& v : values) option.add_result(v);
  option.run_callback();
}

// The models:/ values of one command's --model and --adapter, resolved.
class CommandUris {
 public:
  explicit CommandUris(CLI::App& command)
      : command_(command),
        model_(command.get_option_no_throw("--model")),
        adapter_(command.get_option_no_throw("--adapter")) {}

  void resolve() {
    if (model_ && model_->count() > 0) resolve_model();
    if (adapter_ && adapter_->count() > 0) resolve_adapters();
  }

 private:
  track::ResolvedModel lookup(const std::string& uri) {
    if (!store_) store_.emplace(registry_data_dir(command_));
    return track::resolve_model_uri(*store_, uri);
  }
  bool single_adapter() const { return adapter_->get_expected_max() == 1; }
  bool serves() const { return command_.get_name() == "serve"; }

  // The model becomes the version's model, or its base with the adapter put where this command takes one.
  void resolve_model() {
    const std::optional<UriValue> value = uri_in(model_->results().front());
    if (!value) return;
    const track::ResolvedModel r = lookup(value->uri);
    replace_values(*model_, {value->prefix + r.model});
    // The server resolves models:/ names per request, so it follows promotions: it needs only the base.
    if (r.adapter.empty() || serves()) return;
    if (adapter_ && single_adapter()) {
      if (adapter_->count() > 0)
        fail("--model", "{} is an adapter on {}, and --adapter names another: give one of them", value->uri, r.model);
      replace_values(*adapter_, {r.adapter});
    } else if (adapter_) {
      std::vector<std::string> values = adapter_->results();
      values.push_back(value->uri + "=" + r.adapter);  // a row of its own, named by the URI
      replace_values(*adapter_, values);
    } else if (CLI::Option* set = command_.get_option_no_throw("--set")) {
      std::vector<std::string> values = set->results();  // whet train: continue training the adapter
      values.insert(values.begin(), "lora_model_dir=" + r.adapter);
      replace_values(*set, values);
    } else {
      fail("--model", "{} is an adapter on {}; whet {} takes no adapter: name a model version, or merge it (whet merge)",
           value->uri, r.model, command_.get_name());
    }
  }

  void resolve_adapters() {
    std::vector<std::string> values = adapter_->results(), bases;
    bool any = false;
    for (std::string& v : values) {
      const std::optional<UriValue> value = uri_in(v);
      if (!value) continue;
      const track::ResolvedModel r = lookup(value->uri);
      if (r.adapter.empty())
        fail("--adapter", "{} is a whole model (version {}), not an adapter; give it as --model", value->uri,
             r.version.version);
      if (serves() && value->prefix.empty())
        fail("--adapter", "name it: --adapter NAME={} (requests may also name {} itself)", value->uri, value->uri);
      const std::string prefix = value->prefix.empty() && !single_adapter() ? value->uri + "=" : value->prefix;
      v = prefix + r.adapter;
      bases.push_back(r.model);
      any = true;
    }
    if (!any) return;
    replace_values(*adapter_, values);
    if (!model_ || model_->count() > 0) return;
    // No model given: the one the adapters were trained on.
    for (const std::string& base : bases)
      if (base != bases.front())
        fail("--adapter", "the adapters are on different base models ({} and {}); give --model", bases.front(), base);
    replace_values(*model_, {bases.front()});
  }

  CLI::App& command_;
  CLI::Option* model_;
  CLI::Option* adapter_;
  std::optional<track::RegistryStore> store_;
};

}  // namespace

void resolve_model_uris_in_commands(CLI::App& app) {
  for (CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
    if (command->get_name().empty()) continue;  // an option group, searched with its command
    if (command->get_option_no_throw("--model") || command->get_option_no_throw("--adapter"))
      command->parse_complete_callback([command] { CommandUris(*command).resolve(); });
    resolve_model_uris_in_commands(*command);
  }
}

void SamplingOptions::add_to(CLI::App& command) {
  SamplingParams& s = generation.sampling;
  command.add_option("--temperature", s.temperature, "Sampling temperature; 0 is greedy and deterministic")
      ->check(CLI::Range(0.0f, 100.0f))
      ->capture_default_str();
  command.add_option("--top-k", s.top_k, "Keep the k most likely tokens (0: off)")->check(CLI::NonNegativeNumber);
  command.add_option("--top-p", s.top_p, "Keep the smallest set with this much probability (1: off)")
      ->check(CLI::Range(0.0f, 1.0f));
  command.add_option("--min-p", s.min_p, "Drop tokens below min-p times the top probability (0: off)")
      ->check(CLI::Range(0.0f, 1.0f));
  command.add_option("--repetition-penalty", s.repetition_penalty, "Penalty for tokens already seen (1: off)")
      ->check(CLI::Range(0.01f, 100.0f));
  command.add_option("--seed", s.seed, "Random seed for sampling")->capture_default_str();
  command.add_option("--max-tokens", generation.max_tokens, "Most tokens to generate")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--stop", generation.stop, "Stop before this text (repeatable)");
  add_kv_cache_option(command, kv_cache_dtype);
}

CLI::Option* add_kv_cache_option(CLI::App& command, DType& dtype) {
  const std::map<std::string, DType> names = {{"f16", DType::F16}, {"f32", DType::F32}};
  return command
      .add_option("--kv-cache-dtype", dtype,
                  "How each sequence's keys and values are held: f16 (half the memory, and half of what a decode "
                  "step reads) or f32")
      ->transform(CLI::CheckedTransformer(names))
      ->default_str("f16");
}

}  // namespace whet::cli
