#pragma once
// Model URIs as MLflow writes them, naming a registered version wherever Whet
// takes a model or an adapter (docs/registry.md):
//   models:/NAME@ALIAS    the version ALIAS points at now
//   models:/NAME/VERSION  that version
//   models:/NAME          the latest version
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "track/registry_store.h"
#include "train/train_config.h"

namespace whet::track {

inline constexpr std::string_view kModelUriScheme = "models:/";

struct ModelUri {
  std::string name;
  std::string alias;              // "" unless @ALIAS
  std::optional<int64_t> version;  // set for /VERSION
};

bool is_model_uri(std::string_view text);
// whet::Error "[model URI] ..." naming the text and the form it should take.
ModelUri parse_model_uri(std::string_view text);

// What a URI names, ready to load: a base and an adapter on it, or a whole model.
struct ResolvedModel {
  ModelVersion version;
  std::string model;    // the base (adapter versions) or the model itself
  std::string adapter;  // the adapter folder; "" for a model version
};

// Reads the registry now (a promotion changes what the next call returns);
// errors name the unknown model, alias or version and list what exists.
ResolvedModel resolve_model_uri(RegistryStore& store, std::string_view text);

// A training config that names a registered version (base_model: models:/NAME@ALIAS,
// or lora_model_dir: models:/...), made loadable: a model version becomes the
// base; an adapter version gives its base, and its adapter is trained further
// (lora_model_dir) unless the config names another. Errors name the key.
void resolve_training_uris(TrainConfig& config, RegistryStore& store);

}  // namespace whet::track
