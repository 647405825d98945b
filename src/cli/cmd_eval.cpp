// whet eval: the models a user is choosing between, on the user's tasks and on
// the built-in forgetting and bias checks, in one report.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/builtin_files.h"
#include "eval/report.h"

namespace whet::cli {

namespace {

struct EvalCommandOptions {
  ModelOptions model;
  std::string base;                    // empty: the default model
  std::vector<std::string> adapters;   // [NAME=]DIR
  std::vector<float> adapter_scales;   // each adapter at each; empty: 1, rows named as the adapter
  std::vector<std::string> compare;    // [NAME=]PATH of other (e.g. fully fine-tuned) models
  std::vector<std::string> classifiers;  // [NAME=]DIR of classification heads (with their adapter, if any)
  std::vector<std::string> tasks;
  int few_shot = 0;
  std::string few_shot_from;
  bool forgetting = false, bias = false, json = false, fail_on_forgetting = false;
  std::string classify_by = "loglik";
  std::string report, json_out;
  EvalOptions eval;
  ForgettingThresholds thresholds;
};

// "name=path" or "path" (named by its last path component).
std::pair<std::string, std::string> named_path(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq != std::string::npos && eq > 0) return {spec.substr(0, eq), spec.substr(eq + 1)};
  std::filesystem::path p(spec);
  if (!p.has_filename()) p = p.parent_path();
  return {p.filename().string(), spec};
}

std::string quoted(const std::string& s) {
  if (s.find_first_of(" \t\"'$\\") == std::string::npos && !s.empty()) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string command_line(int argc, char** argv) {
  std::string out = "whet";
  for (int i = 1; i < argc; ++i) out += " " + quoted(argv[i]);
  return out;
}

// An adapter's rows: at strength 1 under its own name, or one per --adapter-scale, named "NAME α=0.5".
std::vector<std::pair<std::string, float>> adapter_rows(const std::string& name, const std::vector<float>& scales) {
  if (scales.empty()) return {{name, 1.0f}};
  std::vector<std::pair<std::string, float>> rows;
  for (float scale : scales) rows.emplace_back(fmt::format("{} α={}", name, scale), scale);
  return rows;
}

std::vector<TaskRuns> tasks_to_run(const EvalCommandOptions& o) {
  std::vector<TaskRuns> runs;
  for (const std::string& path : o.tasks) runs.push_back({read_task(path), TaskRole::Task, {}});
  auto built_in = [&](std::string_view name, TaskRole role) {
    runs.push_back({parse_task(std::string(name), builtin_file(name)), role, {}});
  };
  if (o.forgetting) {
    built_in(kGeneralText, TaskRole::Forgetting);
    built_in(kGeneralQuestions, TaskRole::Forgetting);
  }
  if (o.bias) built_in(kBiasPairs, TaskRole::Bias);
  if (runs.empty()) fail("eval", "nothing to evaluate: give --task FILE, --forgetting or --bias");
  return runs;
}

// Runs the tasks on one model as loaded and appends the results; with
// user_tasks_only, only the user's tasks (a few-shot row: its examples belong
// to them; a head on the frozen base: see reuse_base_rows).
void evaluate_model(const LoadedModel& model, const std::string& name, const std::vector<TaskItem>& shots,
                    const EvalOptions& eval, std::vector<TaskRuns>& runs, bool user_tasks_only = false) {
  for (TaskRuns& t : runs) {
    if (user_tasks_only && t.role != TaskRole::Task) continue;
    EvalOptions options = eval;
    if (t.role == TaskRole::Task) options.shots = shots;
    ProgressLine progress(fmt::format("{} on {}", name, t.task.path));
    t.results.push_back(evaluate_task(model, name, t.task, options, [&](int64_t done, int64_t total) {
      progress.update(done, total, "");
    }));
    progress.finish();
  }
}

// A classification head leaves the language model under it unchanged: on the
// frozen base, the built-in checks' rows are the base's, reused under the head's
// name (with 0 seconds) rather than scored again.
void reuse_base_rows(const std::string& name, std::vector<TaskRuns>& runs) {
  for (TaskRuns& t : runs) {
    if (t.role == TaskRole::Task) continue;
    TaskResult same = t.results.front();
    same.model = name;
    same.seconds = 0;
    t.results.push_back(std::move(same));
  }
}

void run_eval(const EvalCommandOptions& o, const std::string& command) {
  EvalRun run;
  run.command = command;
  run.options = o.eval;
  run.options.classify_by_generation = o.classify_by == "generate";
  run.thresholds = o.thresholds;
  run.tasks = tasks_to_run(o);
  const std::optional<Task> training = o.few_shot_from.empty() ? std::nullopt : std::optional(read_task(o.few_shot_from));
  for (TaskRuns& t : run.tasks)
    if (t.task.kind == TaskKind::Classification)
      t.baselines = trivial_baselines(t.task, training ? &*training : nullptr, run.options);

  const bool base_named = o.base.find('=') != std::string::npos;
  const std::string base_name = base_named ? named_path(o.base).first : "base";
  LoadedModel base = o.model.load(base_named ? named_path(o.base).second : o.base);
  run.models.push_back(base_name);
  evaluate_model(base, base_name, {}, run.options, run.tasks);
  if (o.few_shot > 0) {
    if (o.few_shot_from.empty()) fail("eval", "--few-shot needs --few-shot-from TRAIN.jsonl to draw examples from");
    const std::vector<TaskItem> shots = draw_shots(*training, o.few_shot, o.eval.seed);
    run.few_shot = o.few_shot;
    run.few_shot_from = o.few_shot_from;
    const std::string name = fmt::format("{} {}-shot", base_name, o.few_shot);
    run.models.push_back(name);
    evaluate_model(base, name, shots, run.options, run.tasks, true);
  }
  for (const std::string& spec : o.adapters) {
    const auto [name, dir] = named_path(spec);
    for (const auto& [row, scale] : adapter_rows(name, o.adapter_scales)) {
      base.adapter = load_adapter(dir, base, scale);
      run.models.push_back(row);
      evaluate_model(base, row, {}, run.options, run.tasks);
    }
  }
  for (const std::string& spec : o.classifiers) {
    const auto [name, dir] = named_path(spec);
    base.adapter = std::filesystem::exists(dir + "/adapter_config.json") ? load_adapter(dir, base) : nullptr;
    const SequenceClassifier head = load_sequence_classifier(dir, base.model.config.hidden_size);
    EvalOptions options = run.options;
    options.classifier = &head;
    run.models.push_back(name);
    run.heads.push_back({name, base.adapter ? fmt::format("{} with the adapter in {}", base_name, dir) : base_name});
    evaluate_model(base, name, {}, options, run.tasks, !base.adapter);
    if (!base.adapter) reuse_base_rows(name, run.tasks);
  }
  base.adapter.reset();
  for (const std::string& spec : o.compare) {
    const auto [name, path] = named_path(spec);
    const LoadedModel other = o.model.load(path);
    run.models.push_back(name);
    evaluate_model(other, name, {}, run.options, run.tasks);
  }

  const Document document = eval_document(run);
  // Generated answers are raw model output and may hold broken UTF-8: replaced, not fatal.
  const std::string json = eval_json(run).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const std::string markdown = render_markdown(document);
  if (!o.json_out.empty()) write_file_atomic(o.json_out, json);
  if (!o.report.empty())
    write_file_atomic(o.report, o.report.ends_with(".md") ? markdown : render_html(document));
  const std::string& out = o.json ? json : markdown;
  std::fwrite(out.data(), 1, out.size(), stdout);
  for (const std::string& line : below_baseline_warnings(below_trivial_baselines(run)))
    std::fprintf(stderr, "%s\n", line.c_str());
  if (o.fail_on_forgetting && !forgetting_regressions(run).empty()) command_exit_code() = kExitForgetting;
}

}  // namespace

void add_eval_command(CLI::App& app, int argc, char** argv) {
  auto* command = app.add_subcommand(
      "eval", "Evaluate the base model, adapters and other models side by side on task files, with intervals, "
              "paired tests, a few-shot baseline, and forgetting and bias checks");
  auto o = std::make_shared<EvalCommandOptions>();
  command->add_option("--model", o->base,
                     "[NAME=]PATH: the base model, GGUF file or Hugging Face directory, the first row and the one "
                     "adapters apply to (default: SmolLM2-135M-Instruct, named base)");
  o->model.add_loading_options(*command);
  command->add_option("--adapter", o->adapters, "[NAME=]DIR: a PEFT adapter on the base model, evaluated as its own row (repeatable)");
  add_adapter_scale(*command, o->adapter_scales);
  command->add_option("--compare-model", o->compare, "[NAME=]PATH: another model, e.g. fully fine-tuned, evaluated as its own row (repeatable)");
  command->add_option("--classifier", o->classifiers,
                      "[NAME=]DIR: a classification head trained on the base (task_type seq_cls), with the adapter "
                      "beside it if any; classification tasks are labelled by it (repeatable)");
  command->add_option("--task", o->tasks, "Task file (JSONL; kinds in docs/eval.md) (repeatable)");
  command->add_option("--few-shot", o->few_shot, "Also evaluate the base model with K examples before each item")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--few-shot-from", o->few_shot_from, "Labelled file (same kind as the task) the examples are drawn from");
  command->add_flag("--forgetting", o->forgetting, "Also measure general ability (built-in text perplexity and questions) and flag regressions against the base");
  command->add_option("--perplexity-rise", o->thresholds.perplexity_rise, "Forgetting: flag a relative rise of general-text perplexity above this")
      ->capture_default_str();
  command->add_option("--accuracy-drop", o->thresholds.accuracy_drop, "Forgetting: flag a fall of general-question accuracy above this")
      ->capture_default_str();
  command->add_flag("--fail-on-forgetting", o->fail_on_forgetting, "Exit with code 3 when a model is flagged for forgetting");
  command->add_flag("--bias", o->bias, "Also run the built-in counterfactual bias audit");
  command->add_option("--classify-by", o->classify_by, "Classification: loglik (score each label after the prompt) or generate (normalised answer)")
      ->check(CLI::IsMember({"loglik", "generate"}))
      ->capture_default_str();
  command->add_option("--max-new-tokens", o->eval.max_new_tokens, "Generation tasks: most tokens per answer")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_option("--resamples", o->eval.resamples, "Bootstrap resamples for intervals and paired tests")
      ->check(CLI::Range(100, 100000))
      ->capture_default_str();
  command->add_option("--seed", o->eval.seed, "Seed of the few-shot draw and the bootstrap")->capture_default_str();
  command->add_flag("--json", o->json, "Print the report as JSON instead of Markdown");
  command->add_option("--json-out", o->json_out, "Also write the JSON report to this file");
  command->add_option("--report", o->report, "Also write the report to this file: HTML (self-contained, inline SVG) or .md");
  const std::string command_text = command_line(argc, argv);
  command->callback([o, command_text] { run_eval(*o, command_text); });
}

}  // namespace whet::cli
