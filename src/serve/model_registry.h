#pragma once
// What the server can answer with, by the name a request gives in "model":
// base models (each with its own decoding engine) and LoRA adapters on them.
// Adapters come and go while the server runs; a request holds its adapter by
// shared pointer, so unloading never pulls weights from under a running answer.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "models/model_loader.h"
#include "serve/inference_engine.h"

namespace whet::serve {

struct ModelRoute {
  std::string name;
  std::string base;  // the base model's name (== name for a base)
  const LoadedModel* model = nullptr;
  InferenceEngine* engine = nullptr;
  std::shared_ptr<const LlamaLora> adapter;  // null for a base
  int64_t created_at = 0;
  std::string gate_failure;  // why the run that made it failed its forgetting gate; empty: it passed or had none
};

// The failure recorded in a trained adapter's or model's folder (gate.json,
// eval/gate.h); empty when the folder passed its gate or has no verdict.
std::string gate_failure_in(const std::string& dir);

class ModelRegistry {
 public:
  explicit ModelRegistry(MetricsRegistry& metrics, EngineOptions engine_options)
      : metrics_(metrics), engine_options_(engine_options) {}

  // Bases stay for the server's life: their engines are what handlers wait on.
  void add_base(const std::string& name, LoadedModel model, std::string gate_failure = "");
  // Replaces an adapter of the same name; throws whet::Error for an unknown base or a name taken by a base.
  void add_adapter(const std::string& name, const std::string& base, std::shared_ptr<const LlamaLora> lora,
                   int64_t created_at, std::string gate_failure = "");
  bool remove_adapter(const std::string& name);

  // A registered version's adapter (a models:/ name) on base `base`: loaded by
  // `load` the first time its folder is asked for, then kept, so every request
  // on that version shares one copy (registry versions never change).
  ModelRoute registered_adapter(const std::string& name, const std::string& base, const std::string& version_dir,
                                int64_t created_at, std::string gate_failure,
                                const std::function<std::shared_ptr<const LlamaLora>(const LoadedModel&)>& load);

  std::optional<ModelRoute> find(const std::string& name) const;
  std::vector<ModelRoute> list() const;  // bases first, then adapters, each by name
  bool is_base(const std::string& name) const;

 private:
  struct Base {
    std::unique_ptr<LoadedModel> model;
    std::unique_ptr<InferenceEngine> engine;
    int64_t created_at = 0;
    std::string gate_failure;
  };
  struct Adapter {
    std::string base;
    std::shared_ptr<const LlamaLora> lora;
    int64_t created_at = 0;
    std::string gate_failure;
  };
  // The route to a base or an adapter; the caller holds mutex_.
  ModelRoute route(const std::string& name, const Base& base) const;
  ModelRoute route(const std::string& name, const Adapter& adapter) const;

  MetricsRegistry& metrics_;
  EngineOptions engine_options_;
  mutable std::mutex mutex_;
  std::map<std::string, Base> bases_;
  std::map<std::string, Adapter> adapters_;
  std::map<std::string, std::shared_ptr<const LlamaLora>> registered_;  // by version folder
};

}  // namespace whet::serve
