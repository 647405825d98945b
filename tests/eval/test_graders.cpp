// Graders: each kind on hand-worked cases, the text metrics on known values,
// the JSON Schema subset, the external command with its timeout, and config
// errors that name the key. Also built under AddressSanitizer with hostile configs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "eval/grader.h"
#include "eval/json_schema.h"
#include "eval/text_similarity.h"
#include "test_support.h"

namespace whet {
namespace {

using nlohmann::json;

double score(const json& config, std::string_view output, const json& item = json::object()) {
  return make_grader(config, "test", {})->grade({output, item}).score;
}

// The message of the whet::Error that making (and running) the grader raises.
std::string error_of(const json& config, std::string_view output = "x", const json& item = json::object()) {
  try {
    make_grader(config, "test", {})->grade({output, item});
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Graders, StringCheckOperations) {
  const json item = {{"answer", "Paris"}, {"n", 7}, {"nested", {{"city", "Paris"}}}};
  auto check = [&](const char* op, std::string_view output) {
    return score({{"type", "string_check"}, {"name", "s"}, {"input", "{{sample.output_text}}"},
                  {"reference", "{{ item.answer }}"}, {"operation", op}}, output, item);
  };
  EXPECT_EQ(check("eq", "Paris"), 1.0);
  EXPECT_EQ(check("eq", "paris"), 0.0);
  EXPECT_EQ(check("ne", "paris"), 1.0);
  EXPECT_EQ(check("like", "It is Paris."), 1.0);
  EXPECT_EQ(check("like", "It is PARIS."), 0.0);
  EXPECT_EQ(check("ilike", "It is PARIS."), 1.0);
  // Non-string item fields go in as JSON text; nested fields by their dotted path.
  EXPECT_EQ(score({{"type", "string_check"}, {"input", "{{sample.output_text}}"}, {"reference", "{{item.n}}"},
                   {"operation", "eq"}}, "7", item), 1.0);
  EXPECT_EQ(score({{"type", "string_check"}, {"input", "{{sample.output_text}}"}, {"reference", "{{item.nested.city}}"},
                   {"operation", "eq"}}, "Paris", item), 1.0);
}

TEST(Graders, TextSimilarityMetrics) {
  // kitten / sitting: LCS "ittn" = 4, 2·4 / 13 (RapidFuzz's fuzz.ratio gives 61.538).
  EXPECT_NEAR(fuzzy_match("kitten", "sitting"), 8.0 / 13.0, 1e-12);
  EXPECT_EQ(fuzzy_match("", ""), 1.0);
  EXPECT_EQ(fuzzy_match("abc", ""), 0.0);
  EXPECT_NEAR(fuzzy_match("héllo", "hello"), 8.0 / 10.0, 1e-12);  // code points, not bytes
  // ROUGE over normalised words (articles dropped): "cat sat on mat" vs "cat is on mat",
  // unigrams 3 of 4 each way, and a longest common subsequence of 3.
  auto rouge = [](const char* metric) {
    return json{{"type", "text_similarity"}, {"input", "{{sample.output_text}}"},
                {"reference", "the cat is on the mat"}, {"evaluation_metric", metric}};
  };
  EXPECT_NEAR(score(rouge("rouge_1"), "The cat, sat on the mat!"), 0.75, 1e-12);
  EXPECT_NEAR(score(rouge("rouge_l"), "The cat, sat on the mat!"), 0.75, 1e-12);
  // "mat on cat" shares one word in order: precision 1/3, recall 1/4.
  EXPECT_NEAR(score(rouge("rouge_l"), "mat on cat"), 2.0 / 7.0, 1e-12);
  EXPECT_NEAR(score({{"type", "text_similarity"}, {"input", "{{sample.output_text}}"}, {"reference", "sitting"},
                     {"evaluation_metric", "fuzzy_match"}, {"pass_threshold", 0.5}}, "kitten"), 8.0 / 13.0, 1e-12);
}

TEST(Graders, RegexWithItemValuesMatchedLiterally) {
  const json config = {{"type", "regex"}, {"pattern", R"(^\s*\{\s*"sum"\s*:\s*{{item.sum}}\s*\}\s*$)"}};
  EXPECT_EQ(score(config, R"({"sum": 12})", {{"sum", 12}}), 1.0);
  EXPECT_EQ(score(config, R"({"sum": 121})", {{"sum", 12}}), 0.0);
  EXPECT_EQ(score(config, R"(The sum is {"sum": 12})", {{"sum", 12}}), 0.0);
  // An item value with regex syntax in it matches only itself.
  const json dot = {{"type", "regex"}, {"pattern", "^{{item.x}}$"}};
  EXPECT_EQ(score(dot, "a.b", {{"x", "a.b"}}), 1.0);
  EXPECT_EQ(score(dot, "axb", {{"x", "a.b"}}), 0.0);
  EXPECT_EQ(score({{"type", "regex"}, {"pattern", "paris"}, {"ignore_case", true}}, "PARIS"), 1.0);
}

TEST(Graders, JsonSchemaSubset) {
  const json schema = {{"type", "object"},
                       {"properties", {{"sum", {{"type", "integer"}, {"minimum", 0}, {"maximum", 100}}},
                                       {"unit", {{"enum", {"m", "s"}}}},
                                       {"tags", {{"type", "array"}, {"items", {{"type", "string"}, {"maxLength", 3}}}}}}},
                       {"required", {"sum"}},
                       {"additionalProperties", false}};
  const json config = {{"type", "json_schema"}, {"schema", schema}};
  EXPECT_EQ(score(config, R"({"sum": 7})"), 1.0);
  EXPECT_EQ(score(config, "  {\"sum\": 7.0, \"unit\": \"m\"}\n"), 1.0);  // 7.0 is an integer, as JSON Schema says
  EXPECT_EQ(score(config, R"({"sum": 7.5})"), 0.0);
  EXPECT_EQ(score(config, R"({"sum": 101})"), 0.0);
  EXPECT_EQ(score(config, R"({"sum": "7"})"), 0.0);
  EXPECT_EQ(score(config, R"({"total": 7})"), 0.0);
  EXPECT_EQ(score(config, R"({"sum": 7, "extra": 1})"), 0.0);
  EXPECT_EQ(score(config, R"({"sum": 7, "unit": "kg"})"), 0.0);
  EXPECT_EQ(score(config, R"({"sum": 7, "tags": ["ab", "abcd"]})"), 0.0);
  EXPECT_EQ(score(config, R"({"sum": 7} trailing)"), 0.0);
  EXPECT_EQ(score(config, "```json\n{\"sum\": 7}\n```"), 0.0);
  EXPECT_TRUE(json_schema_valid(json::array({1, 2}), {{"type", {"array", "null"}}, {"minItems", 2}}));
  EXPECT_FALSE(json_schema_valid(json::array({1}), {{"type", "array"}, {"minItems", 2}}));
}

TEST(Graders, MultiCombinesNamedScores) {
  const json config = {{"type", "multi"},
                       {"graders", {{"valid", {{"type", "json_schema"}, {"schema", {{"type", "object"}}}}},
                                    {"exact", {{"type", "string_check"}, {"input", "{{sample.output_text}}"},
                                               {"reference", "{}"}, {"operation", "eq"}}}}},
                       {"calculate_output", "0.25 * valid + 0.75 * (exact - 0) / 1"}};
  EXPECT_NEAR(score(config, "{}"), 1.0, 1e-12);
  EXPECT_NEAR(score(config, "{ }"), 0.25, 1e-12);
  EXPECT_NEAR(score(config, "nope"), 0.0, 1e-12);
}

TEST(Graders, CommandReadsTheSampleAndPrintsAScore) {
  const json item = {{"answer", "7"}};
  const json python = {{"type", "command"},
                       {"command", {"python3", "-c",
                                    "import json,sys; d=json.load(sys.stdin); "
                                    "print(1 if d['sample']['output_text'].strip()==d['item']['answer'] else 0.25)"}}};
  EXPECT_EQ(score(python, " 7 ", item), 1.0);
  EXPECT_EQ(score(python, "8", item), 0.25);
  EXPECT_EQ(score({{"type", "command"}, {"command", "cat >/dev/null; echo '  0.5 '"}}, "x"), 0.5);
}

TEST(Graders, CommandPastItsTimeoutScoresZeroWithAWarning) {
  const auto grader = make_grader({{"type", "command"}, {"command", "sleep 30; echo 1"}, {"timeout_seconds", 0.2}},
                                  "test", {});
  const Grade g = grader->grade({"x", json::object()});
  EXPECT_EQ(g.score, 0.0);
  EXPECT_NE(g.warning.find("timeout_seconds 0.2"), std::string::npos) << g.warning;
}

TEST(Graders, CommandFailuresAreErrors) {
  EXPECT_NE(error_of({{"type", "command"}, {"command", "echo oops >&2; exit 3"}}).find("exited with status 3: oops"),
            std::string::npos);
  EXPECT_NE(error_of({{"type", "command"}, {"command", "echo high"}}).find("expected one number on stdout, got 'high"),
            std::string::npos);
  EXPECT_NE(error_of({{"type", "command"}, {"command", {"/no/such/program"}}}).find("was not found"), std::string::npos);
}

TEST(Graders, ConfigErrorsNameTheKey) {
  auto contains = [](const std::string& message, const std::string& part) {
    EXPECT_NE(message.find(part), std::string::npos) << message;
  };
  contains(error_of({{"type", "python"}}), "grader.type: python graders run OpenAI's hosted code");
  contains(error_of({{"type", "stringcheck"}}), "grader.type: unknown grader type 'stringcheck'");
  contains(error_of(json::array()), "grader: expected a grader object");
  contains(error_of({{"name", "x"}}), "grader.type: required but not set");
  contains(error_of({{"type", "string_check"}, {"input", "a"}, {"reference", "b"}, {"operation", "contains"}}),
           "grader.operation: expected eq, ne, like or ilike");
  contains(error_of({{"type", "string_check"}, {"input", "a"}, {"reference", "b"}, {"operation", "eq"}, {"refrence", 1}}),
           "grader.refrence: unknown key");
  contains(error_of({{"type", "string_check"}, {"input", "{{sample.output_text"}, {"reference", "b"}, {"operation", "eq"}}),
           "grader.input: '{{' at offset 0 is never closed");
  contains(error_of({{"type", "string_check"}, {"input", "{{sample.text}}"}, {"reference", "b"}, {"operation", "eq"}}),
           "grader.input: unknown template '{{sample.text}}'");
  contains(error_of({{"type", "string_check"}, {"input", "{{item.missing}}"}, {"reference", "b"}, {"operation", "eq"}}),
           "grader.input: the item has no field 'missing'");
  contains(error_of({{"type", "text_similarity"}, {"input", "a"}, {"reference", "b"}, {"evaluation_metric", "bleu"}}),
           "grader.evaluation_metric: expected fuzzy_match, rouge_1 or rouge_l");
  contains(error_of({{"type", "regex"}, {"pattern", "(unclosed"}}), "grader.pattern: invalid regular expression");
  contains(error_of({{"type", "json_schema"}, {"schema", {{"type", "object"}, {"patternProperties", json::object()}}}}),
           "grader.schema.patternProperties: keyword not supported");
  contains(error_of({{"type", "json_schema"}, {"schema", {{"properties", {{"a", {{"type", "float"}}}}}}}}),
           "grader.schema.properties.a.type: expected one of object");
  contains(error_of({{"type", "command"}, {"command", "true"}, {"timeout_seconds", -1}}),
           "grader.timeout_seconds: expected a number in [0.001, 3600]");
  contains(error_of({{"type", "score_model"}, {"model", "head"}}), "score_model needs the base model");
  const json inner = {{"type", "regex"}, {"pattern", "a"}};
  contains(error_of({{"type", "multi"}, {"graders", {{"a", inner}}}, {"calculate_output", "a + b"}}),
           "grader.calculate_output: 'b' is not one of the graders");
  contains(error_of({{"type", "multi"}, {"graders", {{"a", inner}}}, {"calculate_output", "(a"}}),
           "grader.calculate_output: expected ')'");
  contains(error_of({{"type", "multi"}, {"graders", {{"a", {{"type", "regex"}}}}}, {"calculate_output", "a"}}),
           "grader.graders.a.pattern: required but not set");
  contains(error_of({{"type", "multi"}, {"graders", {{"1a", inner}}}, {"calculate_output", "1"}}),
           "a name is letters, digits and _");
}

// Hostile configs: deep nesting, long and odd formulas, huge numbers, bytes
// that are not UTF-8. Each is refused or scored, never read out of bounds.
TEST(Graders, HostileConfigsAreRefusedCleanly) {
  json deep = {{"type", "object"}};
  for (int i = 0; i < 300; ++i) deep = {{"type", "array"}, {"items", deep}};
  EXPECT_EQ(score({{"type", "json_schema"}, {"schema", deep}}, "[[1]]"), 0.0);
  const json inner = {{"type", "regex"}, {"pattern", "a"}};
  for (const std::string& formula : {std::string(5000, '('), std::string("a") + std::string(2000, '+'), std::string("-"),
                                    std::string("a * * a"), std::string("1e999999 * a"), std::string("a / 0"),
                                    std::string("\xff\xfe"), std::string("a\0b", 3)}) {
    try {
      const double s = score({{"type", "multi"}, {"graders", {{"a", inner}}}, {"calculate_output", formula}}, "a");
      (void)s;  // a formula that parses yields some number (inf and nan included)
    } catch (const Error&) {
    }
  }
  for (const std::string& pattern : {std::string("(a+)+$"), std::string("\xc3("), std::string("{{item.x}}{{item.x}}"),
                                    std::string(100000, 'a')}) {
    try {
      score({{"type", "regex"}, {"pattern", pattern}}, std::string(40, 'a') + "!", {{"x", std::string("\xff\xfe")}});
    } catch (const Error&) {
    }
  }
}

TEST(Graders, FileInJsonOrYaml) {
  const std::string dir = test::scratch_dir("graders_file");
  std::ofstream(dir + "/g.yaml") << "type: multi\ngraders:\n  valid:\n    type: json_schema\n    schema: {type: object, "
                                    "required: [sum]}\n  sum:\n    type: regex\n    pattern: '\"sum\": *{{item.sum}}\\b'\n"
                                    "calculate_output: 0.5 * valid + 0.5 * sum\n";
  std::ofstream(dir + "/g.json") << R"({"type": "string_check", "input": "{{sample.output_text}}", "reference": "7", "operation": "eq"})";
  const json item = {{"sum", 7}};
  EXPECT_EQ(make_grader(read_grader_file(dir + "/g.yaml"), "g.yaml", {})->grade({R"({"sum": 7})", item}).score, 1.0);
  EXPECT_EQ(make_grader(read_grader_file(dir + "/g.yaml"), "g.yaml", {})->grade({R"({"sum": 8})", item}).score, 0.5);
  EXPECT_EQ(make_grader(read_grader_file(dir + "/g.json"), "g.json", {})->grade({"7", item}).score, 1.0);
  std::ofstream(dir + "/bad.yaml") << "type: regex\ntype: regex\n";
  EXPECT_THROW(read_grader_file(dir + "/bad.yaml"), Error);
}

}  // namespace
}  // namespace whet
