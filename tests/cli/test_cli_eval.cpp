// `whet eval` as a user runs it, on a tiny generated model: every report
// format, the built-in checks, and bad input named by file and line.
#include <gtest/gtest.h>

#include <fstream>
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

TEST(CliEval, ReportsEveryModelInJsonMarkdownAndHtml) {
  const std::string dir = this_test_scratch("cli_eval_");
  const std::string task = write_file(dir, "task.jsonl",
                                      "{\"prompt\": \"the sea:\", \"label\": \"tin\"}\n"
                                      "{\"prompt\": \"the tin:\", \"label\": \"sea\"}\n"
                                      "{\"prompt\": \"in the sea:\", \"label\": \"tin\"}\n");
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

}  // namespace
}  // namespace whet::test
