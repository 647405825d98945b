#pragma once
// The pipeline `whet watch` runs (docs/loop.md): where new data arrives, how
// it is prepared and trained, the held-out task a challenger must win on, and
// the checks it must pass before the registry's alias moves to it. Read by
// io/yaml_config like every config; relative paths start at the file's folder.
#include <string>
#include <vector>

namespace whet::loop {

struct WatchConfig {
  std::string path;  // the file it was read from

  // What the loop promotes: models:/NAME@ALIAS is the champion it serves.
  std::string name;
  std::string alias = "champion";

  // What starts a cycle.
  std::string incoming;           // a folder: *.jsonl files not seen before are new data; "" = none
  long long min_new_records = 1;  // lines in new files that start a cycle
  long long feedback_threshold = 0;  // new usable feedback records (the server's) that start one; 0 = feedback off
  std::string feedback_format = "preference";  // how feedback becomes data: preference or kto (whet feedback export)
  double poll_seconds = 60;

  // What a cycle does with the data collected so far.
  std::string prepare;  // a `whet data prepare` config; its sources plus the collected files; "" = the files as they are
  std::string train;    // the training config (whet train); train_data and output_dir are the loop's
  std::vector<std::string> train_set;  // key=value overrides of it, as --set

  // The gate.
  std::string task;    // the held-out task file (docs/eval.md) both models are scored on
  std::string metric;  // "" = the task's headline metric
  double min_improvement = 0;  // challenger minus champion, in the metric's direction, must exceed this
  double significance = 0.05;  // and the paired bootstrap p-value must be below this
  bool bias_check = true;      // the built-in counterfactual pairs: the gap may not grow
  double max_bias_rise = 0.10;  // relative rise of the mean gap beyond which (and significant) it fails
};

// whet::Error "[file:line] key: problem" for unknown keys, wrong types, values
// out of range, and missing train, task or name.
WatchConfig load_watch_config(const std::string& path);
WatchConfig parse_watch_config(const std::string& yaml_text, const std::string& path);

// The config's keys as `whet watch --help` lists them.
std::string watch_config_help();

}  // namespace whet::loop
