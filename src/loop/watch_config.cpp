#include "loop/watch_config.h"

#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <string_view>

#include "io/yaml_config.h"
#include "track/registry_store.h"

namespace whet::loop {

namespace {

namespace fs = std::filesystem;
using yaml::boolean;
using yaml::choice;
using yaml::integer;
using yaml::real;
using yaml::strings;
using yaml::text;

constexpr std::array<std::string_view, 2> kFeedbackFormats = {"preference", "kto"};

// Checks across keys once all are read: a trigger exists, names suit the registry.
void check_watch(WatchConfig& c, const yaml::Scope& s) {
  if (c.incoming.empty() && c.feedback_threshold == 0)
    s.reject("incoming", "a folder to watch, or feedback_threshold above 0: nothing would start a cycle");
  try {
    track::check_model_name(c.name);
  } catch (const Error&) {
    s.reject("name", "letters, digits and - _ . (it becomes models:/NAME@ALIAS and a folder name)");
  }
  try {
    track::check_alias_name(c.alias);
  } catch (const Error&) {
    s.reject("alias", "letters, digits, - and _, not a number nor 'latest'");
  }
}

using W = WatchConfig;
const yaml::Table<W> kWatch(
    {
        {"name", text(&W::name), "the registered model the loop promotes (models:/NAME@ALIAS)", "Model", true},
        {"alias", text(&W::alias), "the alias a winning challenger receives", "Model"},
        {"incoming", text(&W::incoming), "folder whose new *.jsonl files start a cycle", "Trigger"},
        {"min_new_records", integer(&W::min_new_records, {1}), "lines in new files that start a cycle", "Trigger"},
        {"feedback_threshold", integer(&W::feedback_threshold, {0, INT_MAX}),
         "new feedback records in the server's store that start a cycle (0: off)", "Trigger"},
        {"feedback_format", choice(&W::feedback_format, kFeedbackFormats),
         "how feedback becomes training data, as whet feedback export --format", "Trigger"},
        {"poll_seconds", real(&W::poll_seconds, {0, true, 86400, false}), "seconds between looks", "Trigger"},
        {"prepare", text(&W::prepare), "a whet data prepare config run over the collected files", "Cycle"},
        {"train", text(&W::train), "the training config (train_data and output_dir are set by the loop)", "Cycle",
         true},
        {"train_set", strings(&W::train_set, {"key=value"}), "overrides of the training config, as --set", "Cycle"},
        {"task", text(&W::task), "the held-out task file challenger and champion are scored on", "Gate", true},
        {"metric", text(&W::metric), "the task metric compared (default: the task's headline)", "Gate"},
        {"min_improvement", real(&W::min_improvement, {-1e9, false, 1e9, false}),
         "how much better the challenger must be, in the metric's units", "Gate"},
        {"significance", real(&W::significance, {0, true, 0.5, false}),
         "the paired bootstrap p-value the improvement must beat", "Gate"},
        {"bias_check", boolean(&W::bias_check), "score the built-in counterfactual pairs on both models", "Gate"},
        {"max_bias_rise", real(&W::max_bias_rise, {0, false}),
         "relative rise of the mean counterfactual gap that fails the gate when significant", "Gate"},
    },
    {.example = "name: support-bot\ntrain: train.yaml\ntask: heldout.jsonl\nincoming: incoming/"}, check_watch);

std::string from_config_folder(const std::string& config_path, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(config_path).parent_path() / path).lexically_normal().string();
}

}  // namespace

WatchConfig parse_watch_config(const std::string& yaml_text, const std::string& path) {
  WatchConfig c;
  c.path = path;
  yaml::Origins origins(path);
  yaml::read_document(c, kWatch, yaml::parse_document(yaml_text, path, kWatch.example), path, origins);
  yaml::finish(c, kWatch, yaml::Scope{origins, ""});
  for (std::string* file : {&c.incoming, &c.prepare, &c.train, &c.task}) *file = from_config_folder(path, *file);
  return c;
}

WatchConfig load_watch_config(const std::string& path) {
  return parse_watch_config(yaml::read_config_file(path), path);
}

std::string watch_config_help() {
  std::string out;
  std::string_view group;
  for (const yaml::Key<W>& key : kWatch.keys) {
    if (key.group != group) out += fmt::format("{}{}\n", group.empty() ? "" : "\n", key.group), group = key.group;
    out += fmt::format("  {}: {}{}\n      {}\n", key.name, yaml::type_text(key.field.kind),
                       key.required ? ", required" : "", key.help);
  }
  return out;
}

}  // namespace whet::loop
