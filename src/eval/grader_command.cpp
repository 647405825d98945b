// command: an external program grades. It gets one JSON line on stdin,
// {"sample": {"output_text": ...}, "item": {...}}, and prints one number on
// stdout. A program that outlives timeout_seconds is killed and the sample
// scores 0 with a warning (one slow sample should not end a training run); a
// program that fails (exit status not 0) or prints no number is an error, as
// that is a broken grader rather than a bad sample.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "core/subprocess.h"
#include "eval/grader_spec.h"

namespace whet {

namespace {

std::vector<std::string> command_argv(const GraderSpec& spec) {
  const nlohmann::json& command = spec.at("command");
  if (command.is_string()) {
    if (command.get_ref<const std::string&>().empty()) spec.reject("command", "empty");
    return {"/bin/sh", "-c", command.get<std::string>()};
  }
  if (!command.is_array() || command.empty()) spec.reject("command", "expected a shell command or a non-empty list of arguments");
  std::vector<std::string> argv;
  for (const auto& a : command) {
    if (!a.is_string()) spec.reject("command", fmt::format("expected strings in the argument list, got {}", a.dump()));
    argv.push_back(a.get<std::string>());
  }
  return argv;
}

std::string tail(const std::string& text) { return text.size() > 400 ? "..." + text.substr(text.size() - 400) : text; }

class CommandGrader : public Grader {
 public:
  CommandGrader(const GraderSpec& spec, const GraderContext& context)
      : argv_(command_argv(spec)), timeout_(spec.number("timeout_seconds", 10, 0.001, 3600)),
        folder_(context.folder), where_(spec.where()), key_(spec.path("command")) {
    spec.only({"command", "timeout_seconds"});
    if (context.from_client) spec.reject("type", "a command grader runs a program on the server; a client's grader may not");
  }

  Grade grade(const GradeInput& in) override {
    const nlohmann::json sample = {{"sample", {{"output_text", std::string(in.output_text)}}}, {"item", in.item}};
    const ProcessResult r = run_process(argv_, sample.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                                        timeout_, folder_);
    if (r.timed_out) return {0.0, fmt::format("command killed after timeout_seconds {}; scored 0", timeout_)};
    if (r.exit_status == 127) fail(where_, "{}: '{}' was not found or could not run", key_, argv_[0]);
    if (r.exit_status != 0) fail(where_, "{}: exited with status {}: {}", key_, r.exit_status, tail(r.err));
    const std::string out = r.out;
    const char* begin = out.c_str();
    char* end = nullptr;
    const double score = std::strtod(begin, &end);
    const bool rest_blank = std::all_of(static_cast<const char*>(end), out.c_str() + out.size(),
                                        [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
    if (end == begin || !rest_blank || !std::isfinite(score))
      fail(where_, "{}: expected one number on stdout, got '{}'", key_, tail(out));
    return {score};
  }

 private:
  std::vector<std::string> argv_;
  double timeout_;
  std::string folder_, where_, key_;
};

}  // namespace

std::unique_ptr<Grader> make_command_grader(const GraderSpec& spec, const GraderContext& context) {
  return std::make_unique<CommandGrader>(spec, context);
}

}  // namespace whet
