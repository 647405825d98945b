// whet: fine-tune and run language models on CPUs.
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"Whet: fine-tune large language models on the CPUs you have."};
  app.require_subcommand(1);
  whet::cli::add_info_command(app);
  whet::cli::add_generate_command(app);
  whet::cli::add_chat_command(app);
  whet::cli::add_convert_command(app);
  whet::cli::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const whet::Error& e) {
    std::fprintf(stderr, "whet: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
