// whet registry: named models with numbered versions and aliases, in MLflow's
// words (docs/registry.md). The same store and JSON as the server's
// /v1/registry routes, so a promotion here changes what a running server answers.
#include <cstdio>
#include <ctime>

#include <fmt/ranges.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "track/registry_json.h"
#include "track/registry_source.h"
#include "track/registry_store.h"

namespace whet::cli {

namespace {

using nlohmann::json;
using track::RegistryStore;

struct RegistryOptions {
  std::string data_dir = kDefaultDataDir;
  bool json = false;
  std::string name, alias = "champion", from, reason;
  int64_t version = 0;
  bool force = false;
  track::RegisterOptions register_options;
};

std::string utc(int64_t seconds) {
  const std::time_t t = std::time_t(seconds);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%SZ", std::gmtime(&t));
  return text;
}

std::string version_or_none(const std::optional<int64_t>& version) {
  return version ? fmt::format("version {}", *version) : "none";
}

std::string aliases_text(const track::RegisteredModel& model) {
  std::vector<std::string> parts;
  for (const auto& [alias, version] : model.aliases) parts.push_back(fmt::format("@{}={}", alias, version));
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, " "));
}

void print_event(const track::RegistryEvent& e) {
  fmt::print("{}  #{} {} {}{}: {} -> {}{}\n", utc(e.time), e.seq, e.action, e.name, e.alias.empty() ? "" : "@" + e.alias,
             version_or_none(e.from_version), version_or_none(e.to_version),
             e.reason.empty() ? "" : fmt::format(" ({})", e.reason));
}

void list(const RegistryOptions& o) {
  RegistryStore store(o.data_dir);
  const std::vector<track::RegisteredModel> models = store.list_models();
  if (o.json) {
    json data = json::array();
    for (const auto& m : models) data.push_back(track::model_json(m));
    fmt::print("{}\n", json{{"object", "list"}, {"data", data}}.dump(2));
    return;
  }
  if (models.empty()) std::fprintf(stderr, "no registered models in %s\n", store.data_dir().c_str());
  for (const auto& m : models)
    fmt::print("{:<24} latest {:<3} {:<7} {}\n", m.name, m.latest_version(),
               track::version_kind_name(m.versions.back().kind), aliases_text(m));
}

void show(const RegistryOptions& o) {
  RegistryStore store(o.data_dir);
  const track::RegisteredModel model = store.get_model(o.name);
  const std::vector<track::RegistryEvent> events = store.events(o.name);
  if (o.json) {
    json out = track::model_json(model);
    out["events"] = json::array();
    for (const auto& e : events) out["events"].push_back(track::event_json(e));
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("{}{}\naliases: {}\nversions:\n", model.name,
             model.description.empty() ? "" : " - " + model.description, aliases_text(model));
  for (const track::ModelVersion& v : model.versions) {
    const std::string gate = v.gate.is_null() ? "no gate" : v.gate_failed() ? "gate FAILED" : "gate passed";
    fmt::print("  {:<3} {:<7} {}  {}{}  {}\n      {}\n", v.version, track::version_kind_name(v.kind),
               utc(v.created_at), gate, v.run_id.empty() ? "" : "  run " + v.run_id,
               v.base_model.empty() ? "" : "on " + v.base_model, v.path);
  }
  fmt::print("events:\n");
  for (const auto& e : events) print_event(e);
}

void register_command(const RegistryOptions& o) {
  RegistryStore store(o.data_dir);
  const track::ModelVersion v = track::register_version(store, o.name, o.from, o.register_options);
  if (o.json) return fmt::print("{}\n", track::version_json(v).dump(2));
  std::fprintf(stderr, "registered %s version %lld: %s%s, copied to %s\n", v.name.c_str(),
               static_cast<long long>(v.version), std::string(track::version_kind_name(v.kind)).c_str(),
               v.base_model.empty() ? "" : (" on " + v.base_model).c_str(), v.path.c_str());
  if (v.gate_failed())
    std::fprintf(stderr, "note: its run failed the forgetting gate (%s); promoting it needs --force\n",
                 v.gate_reason().c_str());
}

void print_change(const RegistryOptions& o, const track::RegistryEvent& e) {
  if (o.json) return fmt::print("{}\n", track::event_json(e).dump(2));
  print_event(e);
}

void add_common(CLI::App& command, RegistryOptions& o) {
  add_data_dir(command, o.data_dir);
  command.add_flag("--json", o.json, "Print JSON (the shapes of the /v1/registry API) instead of text");
}

CLI::App* add_action(CLI::App& parent, const char* name, const char* help, std::shared_ptr<RegistryOptions> o,
                     void (*action)(const RegistryOptions&)) {
  CLI::App* command = parent.add_subcommand(name, help);
  add_common(*command, *o);
  command->callback([o, action] { action(*o); });
  return command;
}

}  // namespace

void add_registry_command(CLI::App& app) {
  auto* registry = app.add_subcommand(
      "registry", "Named models with numbered versions and aliases (champion, challenger, ...): register, promote, "
                  "roll back; use one anywhere as models:/NAME@ALIAS");
  registry->require_subcommand(1);
  registry->footer(
      "\nExamples:\n"
      "  whet registry register support --from runs/support            # its adapter/ (or model/) as version N\n"
      "  whet registry promote support 2 --alias champion --reason \"better on held-out tickets\"\n"
      "  whet generate --model models:/support@champion --prompt \"...\"\n"
      "  whet registry rollback support --alias champion\n"
      "The registry lives in the data folder (--data-dir, whet serve's): registry.sqlite and registry/NAME/VERSION/. "
      "See docs/registry.md.");
  auto o = std::make_shared<RegistryOptions>();

  add_action(*registry, "list", "List the registered models, their latest versions and aliases", o, list);

  auto* show_command = add_action(*registry, "show", "A model's versions, aliases and the log of every change", o, show);
  show_command->add_option("name", o->name, "Registered model name")->required();

  auto* reg = add_action(*registry, "register",
                         "Copy a run's adapter or model into the registry as the model's next version", o,
                         register_command);
  reg->add_option("name", o->name, "Registered model name (letters, digits, - _ .); made if new")->required();
  reg->add_option("--from", o->from,
                  "A run folder (its adapter/ or model/; best/ with --best), or an adapter or model folder")
      ->required();
  reg->add_flag("--best", o->register_options.best, "Register the run's best evaluation (best/) instead of its final output");
  reg->add_option("--base", o->register_options.base,
                  "The adapter's base model (default: the run's base_model, or adapter_config.json's)");
  reg->add_option("--description", o->register_options.description, "What this version is");

  auto* promote = add_action(*registry, "promote", "Point an alias at a version (refused for a failed gate unless --force)", o,
                             [](const RegistryOptions& r) {
                               RegistryStore store(r.data_dir);
                               print_change(r, store.promote(r.name, r.alias, r.version, r.reason, r.force));
                             });
  promote->add_option("name", o->name, "Registered model name")->required();
  promote->add_option("version", o->version, "The version the alias will point at")->required()->check(CLI::PositiveNumber);
  promote->add_option("--alias", o->alias, "The alias: champion, challenger or any name")->capture_default_str();
  promote->add_option("--reason", o->reason, "Why, for the log");
  promote->add_flag("--force", o->force, "Promote even a version whose training run failed its forgetting gate");

  auto* rollback = add_action(*registry, "rollback", "Move an alias back to the version it pointed at before its last change",
                              o, [](const RegistryOptions& r) {
                                RegistryStore store(r.data_dir);
                                print_change(r, store.rollback(r.name, r.alias, r.reason));
                              });
  rollback->add_option("name", o->name, "Registered model name")->required();
  rollback->add_option("--alias", o->alias, "The alias to roll back")->capture_default_str();
  rollback->add_option("--reason", o->reason, "Why, for the log");

  auto* alias = registry->add_subcommand("alias", "Manage aliases (set one with promote)");
  alias->require_subcommand(1);
  auto* remove = add_action(*alias, "delete", "Delete an alias (logged; rollback restores it)", o,
                            [](const RegistryOptions& r) {
                              RegistryStore store(r.data_dir);
                              print_change(r, store.delete_alias(r.name, r.alias, r.reason));
                            });
  remove->add_option("name", o->name, "Registered model name")->required();
  remove->add_option("alias", o->alias, "The alias to delete")->required();
  remove->add_option("--reason", o->reason, "Why, for the log");
}

}  // namespace whet::cli
