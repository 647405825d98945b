#pragma once
// Each command registers its options and its action on the top-level app.
#include <CLI/CLI.hpp>

namespace whet::cli {

void add_info_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_bench_command(CLI::App& app);

}  // namespace whet::cli
