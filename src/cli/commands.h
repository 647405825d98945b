#pragma once
// Each command registers its options and its action on the top-level app.
#include <CLI/CLI.hpp>

namespace whet::cli {

// The process exit code a command asks for when it ends without an error (0 unless set).
int& command_exit_code();
// The exit code of a command whose model lost more general ability than allowed
// (`whet eval --fail-on-forgetting`, `whet train` failing its gate), so CI can tell it from an error.
inline constexpr int kExitForgetting = 3;

void add_info_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_bench_command(CLI::App& app);
// `whet bench preference`, registered by add_bench_command (cmd_bench_preference.cpp).
void add_bench_preference_command(CLI::App& bench);
void add_train_command(CLI::App& app);
void add_tune_command(CLI::App& app);
void add_merge_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_feedback_command(CLI::App& app);
void add_runs_command(CLI::App& app);
void add_registry_command(CLI::App& app);
void add_watch_command(CLI::App& app);
// The command line is kept for the report, which must say how to reproduce it.
void add_eval_command(CLI::App& app, int argc, char** argv);

}  // namespace whet::cli
