// whet watch PIPELINE.yaml: continuous training with a gate (docs/loop.md).
// New data or feedback → data preparation → a challenger trained → scored
// against the champion → promoted in the registry only if it wins and passes
// the forgetting and bias checks.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "cli/stop_signal.h"
#include "cli/train_progress.h"
#include "core/error.h"
#include "loop/watch.h"
#include "serve/feedback_export.h"

namespace whet::cli {

namespace {

struct WatchCommandOptions {
  std::string config_path, data_dir = kDefaultDataDir;
  bool once = false, help_config = false;
};

// The feedback whet serve keeps in DATA/whet.sqlite, as the loop's records;
// none before a server has made the store.
loop::FeedbackRecords server_feedback(const std::string& data_dir, const std::string& format) {
  return [data_dir, format]() -> std::vector<std::string> {
    if (!std::filesystem::exists(data_dir + "/whet.sqlite")) return {};
    return serve::stored_feedback_dataset(data_dir, *serve::feedback_format_from_name(format)).lines;
  };
}

int run_watch(const WatchCommandOptions& o) {
  if (o.help_config) {
    std::fputs(loop::watch_config_help().c_str(), stdout);
    return 0;
  }
  if (o.config_path.empty()) fail("watch", "give the pipeline file: whet watch PIPELINE.yaml (keys: --help-config)");
  const loop::WatchConfig config = loop::load_watch_config(o.config_path);
  ProgressLine progress("step");
  const StopOnSignal ctrl_c;
  loop::WatchOptions options;
  options.data_dir = o.data_dir;
  options.once = o.once;
  options.stop = &ctrl_c.requested();
  options.feedback = server_feedback(o.data_dir, config.feedback_format);
  options.say = [&](const std::string& line) { progress.message(line); };
  options.on_report = [&](const StepReport& r) { show_training_report(progress, r, false); };
  const loop::WatchResult result = loop::watch(config, options);
  progress.finish();
  std::fprintf(stderr, "whet watch: %lld cycle(s) decided%s; decisions in %s/loops/%s\n",
               static_cast<long long>(result.cycles_decided), result.stopped ? ", stopped" : "", o.data_dir.c_str(),
               config.name.c_str());
  return result.stopped ? 130 : 0;  // as a shell reports a command ended by Ctrl-C
}

}  // namespace

void add_watch_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "watch", "Continuous training: when new data or feedback arrives, prepare it, train a challenger, score it "
               "against the registry's champion and promote it only if it is better and passes the gate");
  command->footer(
      "\nExamples:\n"
      "  whet watch loop.yaml --data-dir whet-data          # runs until Ctrl-C, looking every poll_seconds\n"
      "  whet watch loop.yaml --data-dir whet-data --once   # one cycle if data is due (for cron), then exits\n"
      "A killed loop continues where it stopped at its next start. Keys of the file: --help-config (docs/loop.md).");
  auto o = std::make_shared<WatchCommandOptions>();
  command->add_option("config", o->config_path, "The loop's YAML file (docs/loop.md)");
  add_data_dir_option(*command, o->data_dir,
                      "The server's data folder: the registry the loop promotes in, its feedback, and "
                      "DATA/loops/NAME where cycles and decisions are kept");
  command->add_flag("--once", o->once,
                    "Finish an unfinished cycle, or run one if data is due, then exit (instead of watching)");
  command->add_flag("--help-config", o->help_config, "List the keys of the loop's YAML file and exit");
  command->callback([o] { command_exit_code() = run_watch(*o); });
}

}  // namespace whet::cli
