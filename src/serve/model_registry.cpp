#include "serve/model_registry.h"

#include <ctime>

#include "core/error.h"

namespace whet::serve {

void ModelRegistry::add_base(const std::string& name, LoadedModel model) {
  auto owned = std::make_unique<LoadedModel>(std::move(model));
  auto engine = std::make_unique<InferenceEngine>(*owned, name, engine_options_, metrics_);
  std::lock_guard lock(mutex_);
  if (bases_.contains(name) || adapters_.contains(name)) fail("serve", "model name '{}' is already in use", name);
  bases_[name] = Base{std::move(owned), std::move(engine), int64_t(std::time(nullptr))};
}

void ModelRegistry::add_adapter(const std::string& name, const std::string& base,
                                std::shared_ptr<const LlamaLora> lora, int64_t created_at) {
  std::lock_guard lock(mutex_);
  if (bases_.contains(name)) fail("serve", "'{}' names a base model; an adapter needs another name", name);
  if (!bases_.contains(base)) fail("serve", "adapter '{}': no base model named '{}'", name, base);
  adapters_[name] = Adapter{base, std::move(lora), created_at};
}

bool ModelRegistry::remove_adapter(const std::string& name) {
  std::lock_guard lock(mutex_);
  return adapters_.erase(name) > 0;
}

std::optional<ModelRoute> ModelRegistry::find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  if (auto b = bases_.find(name); b != bases_.end())
    return ModelRoute{name, name, b->second.model.get(), b->second.engine.get(), nullptr, b->second.created_at};
  if (auto a = adapters_.find(name); a != adapters_.end()) {
    const Base& base = bases_.at(a->second.base);
    return ModelRoute{name, a->second.base, base.model.get(), base.engine.get(), a->second.lora, a->second.created_at};
  }
  return std::nullopt;
}

std::vector<ModelRoute> ModelRegistry::list() const {
  std::vector<ModelRoute> out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, b] : bases_)
    out.push_back({name, name, b.model.get(), b.engine.get(), nullptr, b.created_at});
  for (const auto& [name, a] : adapters_) {
    const Base& base = bases_.at(a.base);
    out.push_back({name, a.base, base.model.get(), base.engine.get(), a.lora, a.created_at});
  }
  return out;
}

bool ModelRegistry::is_base(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return bases_.contains(name);
}

}  // namespace whet::serve
