// whet: fine-tune and run language models on CPUs.
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"

namespace whet::cli {
int& command_exit_code() {
  static int code = 0;
  return code;
}
}  // namespace whet::cli

int main(int argc, char** argv) {
  CLI::App app{"Whet: fine-tune large language models on the CPUs you have."};
  app.require_subcommand(1);
  whet::cli::add_info_command(app);
  whet::cli::add_generate_command(app);
  whet::cli::add_chat_command(app);
  whet::cli::add_convert_command(app);
  whet::cli::add_train_command(app);
  whet::cli::add_tune_command(app);
  whet::cli::add_merge_command(app);
  whet::cli::add_export_command(app);
  whet::cli::add_data_command(app);
  whet::cli::add_eval_command(app, argc, argv);
  whet::cli::add_predict_command(app);
  whet::cli::add_serve_command(app);
  whet::cli::add_feedback_command(app);
  whet::cli::add_runs_command(app);
  whet::cli::add_bench_command(app);
  whet::cli::add_registry_command(app);
  whet::cli::add_watch_command(app);
  whet::cli::resolve_model_uris_in_commands(app);  // after every command: models:/ in any --model or --adapter
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const whet::Error& e) {
    std::fprintf(stderr, "whet: error: %s\n", e.what());
    return 1;
  }
  return whet::cli::command_exit_code();
}
