// The pipeline YAML: defaults, every value checked, and errors that name the
// file, the line and the key.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "prepare/pipeline_config.h"
#include "pipeline_test_support.h"

namespace whet {
namespace {

using test::expect_error;

PipelineConfig parse(const std::string& yaml) { return parse_pipeline_config(yaml, "dir/p.yaml"); }

TEST(DataPipelineConfig, DefaultsAndSourceTypesFromExtensions) {
  const PipelineConfig c = parse("sources:\n  - path: a.jsonl\n  - path: b.csv\n    columns: {text: body}\n  - path: notes\n    type: markdown\n");
  ASSERT_EQ(c.sources.size(), 3u);
  EXPECT_EQ(c.sources[0].type, SourceType::Jsonl);
  EXPECT_EQ(c.sources[1].type, SourceType::Csv);
  EXPECT_EQ(c.sources[1].columns.at("text"), "body");
  EXPECT_EQ(c.sources[2].type, SourceType::Markdown);
  EXPECT_EQ(c.normalize.unicode, "nfc");
  EXPECT_EQ(c.pii.mode, "redact");
  EXPECT_EQ(c.pii.types.size(), 5u);
  EXPECT_EQ(c.dedup.threshold, 0.8);
  EXPECT_EQ(c.augment.copies, 0);
  EXPECT_EQ(c.seed, 42u);
  EXPECT_EQ(resolve_path(c, c.sources[0].path), "dir/a.jsonl");
  EXPECT_EQ(resolve_path(c, "/abs/x"), "/abs/x");
}

TEST(DataPipelineConfig, UnknownKeyNamesFileLineAndSuggestion) {
  expect_error([] { parse("sources:\n  - path: a.jsonl\ndedup:\n  treshold: 0.9\n"); },
               {"[dir/p.yaml:4]", "unknown key 'dedup.treshold'", "did you mean 'dedup.threshold'"});
  expect_error([] { parse("sources:\n  - path: a.jsonl\n    wieght: 2\n"); }, {"[dir/p.yaml:3]", "sources[0].wieght"});
  expect_error([] { parse("sources:\n  - path: a.jsonl\nfrobnicate: 1\n"); }, {"[dir/p.yaml:3]", "unknown key 'frobnicate'"});
  expect_error([] { parse("seed: 1\nsources:\n  - path: a.jsonl\nseed: 2\n"); },
               {"[dir/p.yaml:4]", "duplicate key 'seed' (first set on line 1)"});
  expect_error([] { parse("sources:\n  - path: a.jsonl\ndedup:\n  near: drop\n  near: off\n"); },
               {"[dir/p.yaml:5]", "duplicate key 'dedup.near' (first set on line 4)"});
}

// YAML::Load reads the first document only: keys after a `---` used to be
// dropped without a word, while the same keys without it were refused.
TEST(DataPipelineConfig, ASecondDocumentIsRefused) {
  expect_error([] { parse("sources:\n  - path: a.jsonl\n---\nfrobnicate: 1\n"); },
               {"[dir/p.yaml:3]", "a second YAML document starts here"});
  expect_error([] { parse("sources:\n  - path: a.jsonl\n---\ndedup:\n  threshold: 0.9\n"); },
               {"[dir/p.yaml:3]", "second YAML document"});
  EXPECT_EQ(parse("sources:\n  - path: a.jsonl\n---\n").sources.size(), 1u);
}

TEST(DataPipelineConfig, ValuesAreChecked) {
  const std::string src = "sources:\n  - path: a.jsonl\n";
  expect_error([&] { parse(src + "dedup:\n  threshold: 1.5\n"); }, {"p.yaml:4", "dedup.threshold", "[0.01, 1]"});
  expect_error([&] { parse(src + "dedup:\n  bands: 7\n"); }, {"dedup.bands", "divisor"});
  expect_error([&] { parse(src + "pii:\n  mode: scrub\n"); }, {"pii.mode", "redact, drop, off"});
  expect_error([&] { parse(src + "pii:\n  types: [email, ssn]\n"); }, {"pii.types"});
  expect_error([&] { parse(src + "filter:\n  max_tokens: 100\n"); }, {"filter.max_tokens", "model"});
  expect_error([&] { parse(src + "filter:\n  labels: [a]\n"); }, {"filter.labels", "label_field"});
  expect_error([&] { parse(src + "split:\n  validation: 0.5\n  test: 0.5\n"); }, {"split.test"});
  expect_error([&] { parse(src + "augment:\n  templates: [\"no hole\"]\n"); }, {"augment.templates", "{prompt}"});
  expect_error([] { parse("sources:\n  - path: a.csv\n"); }, {"p.yaml:2", "columns"});
  expect_error([] { parse("sources:\n  - path: a.csv\n    columns: {promt: q}\n"); }, {"p.yaml:3", "columns", "'promt'"});
  expect_error([] { parse("seed: 1\n"); }, {"sources"});
  expect_error([] { parse("sources: [\n"); }, {"dir/p.yaml", "not valid YAML"});
  expect_error([] { parse("- just\n- a list\n"); }, {"top level"});
  expect_error([] { parse(""); }, {"[dir/p.yaml] holds no settings"});
  expect_error([&] { parse(src + "dedup:\n  threshold:\n"); }, {"p.yaml:4", "dedup.threshold", "got nothing"});
  expect_error([&] { parse(src + "seed: -1\n"); }, {"p.yaml:3", "seed: expected integer >= 0, got '-1'"});
  expect_error([&] { parse(src + "pii:\n  patterns:\n    - name: a b\n      regex: x\n"); },
               {"p.yaml:5", "pii.patterns[0].name", "letters, digits and _"});
}

TEST(DataPipelineConfig, ResolvedConfigIsJson) {
  const std::string json = pipeline_config_json(parse("sources:\n  - path: a.jsonl\n    weight: 2\nseed: 9\n"));
  EXPECT_NE(json.find("\"weight\": 2.0"), std::string::npos) << json;
  EXPECT_NE(json.find("\"seed\": 9"), std::string::npos) << json;
}

// Every key the parser knows is in the key table of docs/data.md.
TEST(DataPipelineConfig, DocsListEveryKey) {
  const std::string docs = test::read_all(test::source_path("docs/data.md"));
  const auto resolved = nlohmann::json::parse(pipeline_config_json(parse("sources:\n  - path: a.jsonl\n")));
  for (const auto& [key, value] : resolved.items()) {
    const std::string prefix = key == "sources" ? "sources[]." : key + ".";
    const auto& fields = key == "sources" ? value[0] : value;
    if (!fields.is_object()) {
      EXPECT_NE(docs.find("`" + key + "`"), std::string::npos) << key;
      continue;
    }
    for (const auto& [field, unused] : fields.items())
      EXPECT_NE(docs.find("`" + prefix + field + "`"), std::string::npos) << prefix + field;
  }
}

}  // namespace
}  // namespace whet
