#include "serve/model_registry.h"

#include <ctime>

#include "core/error.h"
#include "eval/gate.h"

namespace whet::serve {

std::string gate_failure_in(const std::string& dir) {
  const std::optional<GateRecord> verdict = read_gate_verdict(dir);
  return verdict && !verdict->passed ? verdict->reason : "";
}

void ModelRegistry::add_base(const std::string& name, LoadedModel model, std::string gate_failure) {
  auto owned = std::make_unique<LoadedModel>(std::move(model));
  auto engine = std::make_unique<InferenceEngine>(*owned, name, engine_options_, metrics_);
  std::lock_guard lock(mutex_);
  if (bases_.contains(name) || adapters_.contains(name)) fail("serve", "model name '{}' is already in use", name);
  bases_[name] = Base{std::move(owned), std::move(engine), int64_t(std::time(nullptr)), std::move(gate_failure)};
}

void ModelRegistry::add_adapter(const std::string& name, const std::string& base,
                                std::shared_ptr<const LlamaLora> lora, int64_t created_at, std::string gate_failure) {
  std::lock_guard lock(mutex_);
  if (bases_.contains(name)) fail("serve", "'{}' names a base model; an adapter needs another name", name);
  if (!bases_.contains(base)) fail("serve", "adapter '{}': no base model named '{}'", name, base);
  adapters_[name] = Adapter{base, std::move(lora), created_at, std::move(gate_failure)};
}

bool ModelRegistry::remove_adapter(const std::string& name) {
  std::lock_guard lock(mutex_);
  return adapters_.erase(name) > 0;
}

ModelRoute ModelRegistry::route(const std::string& name, const Base& b) const {
  return {name, name, b.model.get(), b.engine.get(), nullptr, b.created_at, b.gate_failure};
}

ModelRoute ModelRegistry::route(const std::string& name, const Adapter& a) const {
  const Base& base = bases_.at(a.base);
  return {name, a.base, base.model.get(), base.engine.get(), a.lora, a.created_at, a.gate_failure};
}

ModelRoute ModelRegistry::registered_adapter(
    const std::string& name, const std::string& base, const std::string& version_dir, int64_t created_at,
    std::string gate_failure, const std::function<std::shared_ptr<const LlamaLora>(const LoadedModel&)>& load) {
  std::unique_lock lock(mutex_);
  const Base& b = bases_.at(base);
  auto cached = registered_.find(version_dir);
  if (cached == registered_.end()) {
    lock.unlock();  // loading takes a while; other requests go on meanwhile
    std::shared_ptr<const LlamaLora> lora = load(*b.model);
    lock.lock();
    cached = registered_.try_emplace(version_dir, std::move(lora)).first;  // a racing load that won is kept
  }
  return {name, base, b.model.get(), b.engine.get(), cached->second, created_at, std::move(gate_failure)};
}

std::optional<ModelRoute> ModelRegistry::find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  if (auto b = bases_.find(name); b != bases_.end()) return route(name, b->second);
  if (auto a = adapters_.find(name); a != adapters_.end()) return route(name, a->second);
  return std::nullopt;
}

std::vector<ModelRoute> ModelRegistry::list() const {
  std::vector<ModelRoute> out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, b] : bases_) out.push_back(route(name, b));
  for (const auto& [name, a] : adapters_) out.push_back(route(name, a));
  return out;
}

bool ModelRegistry::is_base(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return bases_.contains(name);
}

}  // namespace whet::serve
