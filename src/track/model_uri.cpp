#include "track/model_uri.h"

#include <charconv>

#include "core/error.h"

namespace whet::track {

namespace {

[[noreturn]] void bad_uri(std::string_view text, std::string_view why) {
  fail("model URI", "'{}': {}; write models:/NAME@ALIAS, models:/NAME/VERSION or models:/NAME", text, why);
}

}  // namespace

bool is_model_uri(std::string_view text) { return text.starts_with(kModelUriScheme); }

ModelUri parse_model_uri(std::string_view text) {
  if (!is_model_uri(text)) bad_uri(text, "does not start with models:/");
  const std::string_view rest = text.substr(kModelUriScheme.size());
  const size_t at = rest.find('@'), slash = rest.find('/');
  if (at != std::string_view::npos && slash != std::string_view::npos) bad_uri(text, "give an alias or a version, not both");
  ModelUri uri;
  uri.name = std::string(rest.substr(0, std::min(at, slash)));
  try {
    check_model_name(uri.name);
    if (at != std::string_view::npos) {
      uri.alias = std::string(rest.substr(at + 1));
      check_alias_name(uri.alias);
    }
  } catch (const Error& e) {
    bad_uri(text, e.what());
  }
  if (slash != std::string_view::npos) {
    const std::string_view digits = rest.substr(slash + 1);
    int64_t version = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || version < 1)
      bad_uri(text, fmt::format("the version '{}' is not a number from 1", digits));
    uri.version = version;
  }
  return uri;
}

ResolvedModel resolve_model_uri(RegistryStore& store, std::string_view text) {
  const ModelUri uri = parse_model_uri(text);
  ResolvedModel out;
  if (!uri.alias.empty()) out.version = store.version_for_alias(uri.name, uri.alias);
  else if (uri.version) out.version = store.get_version(uri.name, *uri.version);
  else out.version = store.get_model(uri.name).versions.back();
  if (out.version.kind == VersionKind::Adapter) {
    out.model = out.version.base_model;
    out.adapter = out.version.path;
  } else {
    out.model = out.version.path;
  }
  return out;
}

void resolve_training_uris(TrainConfig& config, RegistryStore& store) {
  if (is_model_uri(config.lora_model_dir)) {
    const ResolvedModel r = resolve_model_uri(store, config.lora_model_dir);
    if (r.adapter.empty())
      fail("lora_model_dir", "{} is a whole model (version {}), not an adapter; give it as base_model",
           config.lora_model_dir, r.version.version);
    config.lora_model_dir = r.adapter;
  }
  if (!is_model_uri(config.base_model)) return;
  const ResolvedModel r = resolve_model_uri(store, config.base_model);
  if (!r.adapter.empty()) {
    if (!config.lora_model_dir.empty())
      fail("base_model", "{} is an adapter on {}, and lora_model_dir names another adapter: give one of them",
           config.base_model, r.model);
    config.lora_model_dir = r.adapter;
  }
  config.base_model = r.model;
}

}  // namespace whet::track
