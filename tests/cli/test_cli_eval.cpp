// `whet eval` as a user runs it, on a tiny generated model: every report
// format, the built-in checks, and bad input named by file and line.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "cli/run_whet.h"

namespace whet::test {
namespace {

std::string tiny_model() { return testdata_path("tiny/gqa_tied/hf"); }

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Three labelled prompts in the tiny model's words: labels tin (twice) and sea.
std::string write_sea_tin_task(const std::string& dir) {
  return write_file(dir, "task.jsonl",
                    "{\"prompt\": \"the sea:\", \"label\": \"tin\"}\n"
                    "{\"prompt\": \"the tin:\", \"label\": \"sea\"}\n"
                    "{\"prompt\": \"in the sea:\", \"label\": \"tin\"}\n");
}

TEST(CliEval, ReportsEveryModelInJsonMarkdownAndHtml) {
  const std::string dir = this_test_scratch("cli_eval_");
  const std::string task = write_sea_tin_task(dir);
  const RunResult r = run_whet("eval --model " + tiny_model() + " --task " + task + " --few-shot 1 --few-shot-from " +
                               task + " --forgetting --bias --resamples 200 --json --report " + dir +
                               "/report.html --json-out " + dir + "/report.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("models"), nlohmann::json({"base", "base 1-shot"}));
  ASSERT_EQ(j.at("tasks").size(), 4u);  // the task, general text, general questions, bias pairs
  const nlohmann::json& cls = j.at("tasks")[0];
  EXPECT_EQ(cls.at("kind"), "classification");
  EXPECT_EQ(cls.at("results").size(), 2u);
  EXPECT_EQ(cls.at("results")[0].at("confusion").size(), 2u);
  EXPECT_EQ(cls.at("comparisons").size(), 3u);  // accuracy, macro and micro F1 of 1-shot against base
  // Each row records its own few-shot examples: the base none, the 1-shot row its line of the file.
  EXPECT_EQ(j.at("few_shot"), 1);
  EXPECT_EQ(cls.at("results")[0].at("few_shot"), 0);
  EXPECT_EQ(cls.at("results")[1].at("few_shot"), 1);
  const nlohmann::json& shot = cls.at("results")[1].at("shots")[0];
  EXPECT_GE(shot.at("line").get<int>(), 1);
  EXPECT_LE(shot.at("line").get<int>(), 3);
  EXPECT_TRUE(shot.at("answer") == "tin" || shot.at("answer") == "sea") << shot;
  // The trivial baselines, and whether each model beats them.
  ASSERT_EQ(cls.at("baselines").size(), 2u);
  EXPECT_EQ(cls.at("baselines")[0].at("name"), "majority class (always 'tin')");
  EXPECT_TRUE(cls.at("results")[0].at("beats_trivial_baselines").is_boolean());
  // The built-in checks run on real models only, not again on the few-shot prompt.
  EXPECT_EQ(j.at("tasks")[1].at("role"), "forgetting");
  EXPECT_EQ(j.at("tasks")[1].at("results").size(), 1u);
  EXPECT_EQ(j.at("tasks")[3].at("results")[0].at("bias").size(), 3u);  // gender, age, origin
  EXPECT_EQ(nlohmann::json::parse(read_file(dir + "/report.json")), j);
  const std::string html = read_file(dir + "/report.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("Confusion matrix"), std::string::npos);
  EXPECT_NE(html.find("Reproduce every number with: whet eval --model"), std::string::npos);
  const RunResult markdown = run_whet("eval --model " + tiny_model() + " --task " + task + " --resamples 200");
  ASSERT_EQ(markdown.exit_code, 0) << markdown.err;
  EXPECT_NE(markdown.out.find("| base | "), std::string::npos) << markdown.out;
  EXPECT_NE(markdown.out.find("| uniform random (expected) | "), std::string::npos) << markdown.out;
  const std::string shot_line = fmt::format("1 example before every item, line {} of {}", shot.at("line").get<int>(), task);
  EXPECT_NE(html.find(shot_line), std::string::npos) << shot_line;
}

// Classification by generation on the tiny model: its answers are no labels
// (and not always whole UTF-8), so all go to the one invalid column, and the
// JSON keeps each raw answer, its broken bytes replaced.
TEST(CliEval, GeneratedInvalidAnswersShareOneColumn) {
  const std::string dir = this_test_scratch("cli_eval_");
  const std::string task = write_sea_tin_task(dir);
  const RunResult r = run_whet("eval --model " + tiny_model() + " --task " + task +
                               " --classify-by generate --max-new-tokens 4 --resamples 200 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json result = nlohmann::json::parse(r.out).at("tasks")[0].at("results")[0];
  EXPECT_EQ(result.at("labels"), nlohmann::json({"sea", "tin", "(invalid)"}));
  EXPECT_EQ(result.at("confusion"), nlohmann::json({{0, 0, 1}, {0, 0, 2}}));
  for (const nlohmann::json& p : result.at("predictions"))
    EXPECT_EQ(p.get<std::string>().find("(invalid)"), std::string::npos) << p;
}

TEST(CliEval, BadInputIsNamed) {
  const std::string dir = this_test_scratch("cli_eval_");
  const std::string bad = write_file(dir, "bad.jsonl", "{\"text\": \"fine\"}\n{\"text\": 3}\n");
  const RunResult r = run_whet("eval --model " + tiny_model() + " --task " + bad);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(bad + ":2"), std::string::npos) << r.err;
  const RunResult no_source = run_whet("eval --model " + tiny_model() + " --task " + bad + " --few-shot 2");
  EXPECT_NE(no_source.exit_code, 0);
  const RunResult nothing = run_whet("eval --model " + tiny_model());
  EXPECT_NE(nothing.exit_code, 0);
  EXPECT_NE(nothing.err.find("nothing to evaluate"), std::string::npos) << nothing.err;
  const RunResult help = run_whet("eval --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--few-shot-from"), std::string::npos);
}

// A classification head trained on labelled lines (task_type seq_cls): on a
// frozen base (only the head learns) and with LoRA (the adapter is written
// beside the head); `whet predict` labels prompts with it and `whet eval
// --classifier` scores it beside the base model.
TEST(CliEval, ClassificationHeadTrainsPredictsAndEvaluates) {
  const std::string dir = this_test_scratch("cli_eval_");
  std::string train, val;
  const char* const sea[] = {"the sea", "in the sea", "sea sea"};
  const char* const tin[] = {"the tin", "tin tin", "in the tin"};
  for (int i = 0; i < 30; ++i) {
    const bool is_sea = i % 2 == 0;
    const std::string text = std::string(is_sea ? sea[i % 3] : tin[i % 3]) + (i % 4 < 2 ? " in:" : " the:");
    (i < 24 ? train : val) += nlohmann::json({{"prompt", text}, {"label", is_sea ? "sea" : "tin"}}).dump() + "\n";
  }
  const std::string train_path = write_file(dir, "train.jsonl", train), val_path = write_file(dir, "val.jsonl", val);
  const std::string common = "train --model " + tiny_model() + " --data " + train_path + " --val " + val_path +
                             " --epochs 4 --lr 0.01 --set task_type=seq_cls --set micro_batch_size=4"
                             " --set sequence_len=32 --set eval_task=" + val_path +
                             " --set metric_for_best_model=accuracy --set forgetting_gate=false";
  const RunResult head_only = run_whet(common + " --method freeze --set train_last_n_blocks=0 --set train_norms=false"
                                       " --output " + dir + "/head");
  ASSERT_EQ(head_only.exit_code, 0) << head_only.err;
  // A head's progress counts examples; on a frozen base tokens are read once and cached.
  EXPECT_NE(head_only.err.find("examples/s"), std::string::npos) << head_only.err;
  EXPECT_EQ(head_only.err.find("tok/s"), std::string::npos) << head_only.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/head/classifier/classifier.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/head/classifier/model.safetensors")) << "a frozen base is not rewritten";
  const RunResult lora = run_whet(common + " --method lora --output " + dir + "/lora");
  ASSERT_EQ(lora.exit_code, 0) << lora.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/lora/adapter/adapter_config.json"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/lora/adapter/classifier_config.json"));

  const RunResult predicted = run_whet("predict " + tiny_model() + " --classifier " + dir + "/lora/adapter --input " +
                                       val_path);
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  int lines = 0, right = 0;
  std::istringstream in(predicted.out);
  for (std::string line; std::getline(in, line); ++lines) {
    const nlohmann::json j = nlohmann::json::parse(line);
    const double p = j.at("probabilities").at("sea").get<double>() + j.at("probabilities").at("tin").get<double>();
    EXPECT_NEAR(p, 1.0, 1e-5);
    right += j.at("label") == j.at("reference");
  }
  EXPECT_EQ(lines, 6);
  EXPECT_GE(right, 5) << predicted.out;  // the words say the label; LoRA and a head learn it
  const RunResult one = run_whet("predict " + tiny_model() + " --classifier " + dir + "/head/classifier -p 'the sea:'");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("\"probabilities\""), std::string::npos);

  const RunResult eval = run_whet("eval --model " + tiny_model() + " --task " + val_path + " --classifier head=" + dir +
                                  "/head/classifier --classifier lora=" + dir + "/lora/adapter --resamples 200 "
                                  "--forgetting --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  const nlohmann::json report = nlohmann::json::parse(eval.out);
  EXPECT_EQ(report.at("models"), nlohmann::json({"base", "head", "lora"}));
  const nlohmann::json& lora_result = report.at("tasks")[0].at("results")[2];
  EXPECT_GE(lora_result.at("metrics").at("accuracy").at("value").get<double>(), 5.0 / 6);
  // The forgetting check has a row for each head, measured on the language model under it: the head on the
  // frozen base scores the base's numbers exactly; the one with LoRA those of its adapter.
  for (const size_t t : {size_t(1), size_t(2)}) {
    const nlohmann::json& results = report.at("tasks")[t].at("results");
    ASSERT_EQ(results.size(), 3u) << report.at("tasks")[t].at("path");
    EXPECT_EQ(results[1].at("model"), "head");
    EXPECT_EQ(results[1].at("metrics"), results[0].at("metrics"));
  }
  EXPECT_NE(report.at("tasks")[1].at("results")[2].at("metrics"), report.at("tasks")[1].at("results")[0].at("metrics"));
  EXPECT_EQ(report.at("classification_heads").at("head"), "base");

  const RunResult missing = run_whet("predict " + tiny_model() + " --classifier " + dir + " -p x");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("classifier_config.json"), std::string::npos) << missing.err;
}

// One command sweeps an adapter's scale: a row per α, named "NAME α=VALUE", and
// α = 0 scores exactly as the base.
TEST(CliEval, AdapterScaleSweepIsARowPerScale) {
  const std::string dir = this_test_scratch("cli_eval_");
  const std::string task = write_file(dir, "task.jsonl",
                                      "{\"prompt\": \"the sea:\", \"label\": \"tin\"}\n"
                                      "{\"prompt\": \"the tin:\", \"label\": \"sea\"}\n");
  const RunResult r = run_whet("eval --model " + tiny_model() + " --task " + task + " --adapter t=" +
                               testdata_path("tiny/gqa_tied/gradients/lora") + " --adapter-scale 0 --adapter-scale 0.5 "
                               "--resamples 200 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("models"), nlohmann::json({"base", "t α=0", "t α=0.5"}));
  const nlohmann::json& results = j.at("tasks")[0].at("results");
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[1].at("metrics"), results[0].at("metrics"));
}

}  // namespace
}  // namespace whet::test
