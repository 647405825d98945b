// SPACE.yaml: every kind of distribution and condition read, parents ordered
// before what they condition, each mistake refused with file, line and key, and
// a value turned into what the training config reads.
#include "tune/search_space.h"

#include <gtest/gtest.h>

#include <fstream>
#include <initializer_list>
#include <random>
#include <string>

#include "core/error.h"
#include "test_support.h"
#include "tune/space_text.h"
#include "tune/param_values.h"

namespace whet::tune {
namespace {

SearchSpace parse(const std::string& text) { return parse_test_space(text); }

// The error of parsing `text` names space.yaml, `line` and every one of `parts`.
void expect_error(const std::string& text, int line, std::initializer_list<std::string_view> parts) {
  try {
    parse(text);
    ADD_FAILURE() << "parsed without error:\n" << text;
  } catch (const Error& e) {
    const std::string message = e.what(), where = fmt::format("[space.yaml:{}]", line);
    EXPECT_NE(message.find(where), std::string::npos) << "no '" << where << "' in: " << message;
    for (std::string_view part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST(SearchSpace, ReadsEveryDistributionInOptunasWords) {
  const SearchSpace space = parse(
      "learning_rate: {type: float, low: 1.0e-5, high: 1.0e-3, log: true}\n"
      "lora_dropout:\n  type: float\n  low: 0.0\n  high: 0.2\n  step: 0.05\n"
      "num_epochs: {type: int, low: 1, high: 4}\n"
      "lora_r: {type: int, low: 4, high: 32, step: 4, grid: [4, 16, 32]}\n"
      "method: {type: categorical, choices: [lora, full, 8, true, ~]}\n");
  ASSERT_EQ(space.parameters.size(), 5u);
  const Distribution& lr = space.find("learning_rate")->distribution;
  EXPECT_EQ(lr.kind, Distribution::Kind::Float);
  EXPECT_DOUBLE_EQ(lr.low, 1e-5);
  EXPECT_DOUBLE_EQ(lr.high, 1e-3);
  EXPECT_TRUE(lr.log);
  EXPECT_EQ(lr.step, 0);
  EXPECT_DOUBLE_EQ(space.find("lora_dropout")->distribution.step, 0.05);
  EXPECT_EQ(space.find("num_epochs")->distribution.step, 1);  // an int steps by 1 unless told
  EXPECT_EQ(space.find("lora_r")->grid, (std::vector<double>{4, 16, 32}));
  const Distribution& method = space.find("method")->distribution;
  EXPECT_EQ(method.kind, Distribution::Kind::Categorical);
  EXPECT_EQ(nlohmann::json(method.choices), nlohmann::json::parse(R"(["lora", "full", 8, true, null])"));
  EXPECT_EQ(space.find("method")->where, "space.yaml:9");
  EXPECT_EQ(space.find("absent"), nullptr);
}

TEST(SearchSpace, ConditionsNameChoicesAndPutParentsFirst) {
  const SearchSpace space = parse(
      "lora_r: {type: int, low: 4, high: 32, when: {method: lora}}\n"
      "momentum: {type: float, low: 0.5, high: 0.99, when: {optimizer: sgd, method: [full, lora]}}\n"
      "method: {type: categorical, choices: [full, lora]}\n"
      "optimizer: {type: categorical, choices: [adamw, sgd]}\n");
  std::vector<std::string> order;
  for (const Parameter& p : space.parameters) order.push_back(p.name);
  EXPECT_EQ(order, (std::vector<std::string>{"method", "lora_r", "optimizer", "momentum"}));
  EXPECT_EQ(space.find("lora_r")->when, (std::vector<Condition>{{"method", {1}}}));
  EXPECT_EQ(space.find("momentum")->when, (std::vector<Condition>{{"optimizer", {1}}, {"method", {0, 1}}}));

  const Parameter& momentum = *space.find("momentum");
  EXPECT_TRUE(is_active(momentum, {{"method", 0}, {"optimizer", 1}}));
  EXPECT_FALSE(is_active(momentum, {{"method", 0}, {"optimizer", 0}}));
  EXPECT_FALSE(is_active(momentum, {{"method", 1}}));  // optimizer not sampled: inactive
  EXPECT_TRUE(is_active(*space.find("method"), {}));
}

TEST(SearchSpace, ReadsAFileAgainstTheTrainingConfigsKeys) {
  const std::string path = test::this_test_scratch("space_") + "/space.yaml";
  std::ofstream(path) << "learning_rate: {type: float, low: 1.0e-5, high: 1.0e-3, log: true}\n"
                         "warmup_ratio: {type: float, low: 0, high: 0.1}\n";
  EXPECT_EQ(load_search_space(path).parameters.size(), 2u);
  std::ofstream(path) << "learning_rate: {type: float, low: 1.0e-5, high: 1.0e-3}\nlearnig_rate: {type: int, low: 1, high: 2}\n";
  test::expect_error([&] { load_search_space(path); }, {"space.yaml:2]", "learnig_rate", "did you mean 'learning_rate'"});
}

TEST(SearchSpaceErrors, KeysTheTrainingConfigDoesNotKnow) {
  expect_error("lora_r: {type: int, low: 1, high: 8}\nbatch: {type: int, low: 1, high: 8}\n", 2,
               {"unknown key 'batch'", "training config"});
  expect_error("lora_r: {type: int, low: 1, high: 8, max: 3}\n", 1, {"lora_r.max", "type, low, high"});
  expect_error("lora_r: 8\n", 1, {"lora_r", "expected a distribution such as"});
  test::expect_error([] { parse("# nothing yet\n"); }, {"[space.yaml]", "holds no settings", "learning_rate: {type"});
}

TEST(SearchSpaceErrors, NumbersOutOfOrder) {
  expect_error("learning_rate: {type: float, low: 0.1,\n  high: 0.01}\n", 2, {"learning_rate.high", "above low"});
  expect_error("learning_rate: {type: float, low: 0, high: 0.1, log: true}\n", 1, {"learning_rate.low", "above 0"});
  expect_error("learning_rate: {type: float, low: x, high: 0.1}\n", 1, {"learning_rate.low", "expected a number"});
  expect_error("learning_rate: {type: float, high: 0.1}\n", 1, {"learning_rate.low", "required"});
  expect_error("lora_r: {type: int, low: 1.5, high: 8}\n", 1, {"lora_r.low", "an integer"});
  expect_error("lora_r:\n  type: int\n  low: 1\n  high: 8\n  step: 0\n", 5, {"lora_r.step", "number > 0"});
}

TEST(SearchSpaceErrors, StepsFollowOptunasRules) {
  expect_error("lora_dropout:\n  type: float\n  low: 0\n  high: 0.25\n  step: 0.1\n", 5,
               {"lora_dropout.step", "does not divide", "set high to 0.2"});
  expect_error("lora_r: {type: int, low: 1, high: 8, step: 2}\n", 1, {"lora_r.step", "set high to 7"});
  expect_error("lora_r: {type: int, low: 1, high: 9, step: 1.5}\n", 1, {"lora_r.step", "an integer"});
  expect_error("learning_rate: {type: float, low: 0.1, high: 1, log: true, step: 0.1}\n", 1,
               {"learning_rate.step", "log scale takes no step"});
  expect_error("lora_r: {type: int, low: 2, high: 8, log: true, step: 2}\n", 1, {"lora_r.step", "log scale"});
  EXPECT_NO_THROW(parse("lora_r: {type: int, low: 2, high: 64, log: true, step: 1}\n"));
  expect_error("lora_r: {type: int, low: 4, high: 32, step: 4,\n  grid: [4, 6]}\n", 2, {"lora_r.grid", "6 is not"});
  expect_error("lora_r: {type: int, low: 4, high: 32, grid: [4, 4]}\n", 1, {"lora_r.grid", "listed twice"});
}

TEST(SearchSpaceErrors, Categoricals) {
  expect_error("method: {type: categorical, choices: []}\n", 1, {"method.choices", "expected a list"});
  expect_error("method:\n  type: categorical\n  choices:\n    - lora\n    - full\n    - lora\n", 6,
               {"method.choices", "\"lora\" is listed twice"});
  expect_error("method: {type: categorical}\n", 1, {"method.choices", "required"});
  expect_error("method: {type: categorical, choices: [a, b], low: 1}\n", 1, {"method.low", "takes choices"});
  expect_error("method: {type: categorical, choices: [[a], b]}\n", 1, {"method.choices", "strings, numbers"});
  expect_error("lora_r: {type: int, low: 1, high: 4, choices: [1, 2]}\n", 1, {"lora_r.choices", "only a categorical"});
  expect_error("method: {type: categoric, choices: [a]}\n", 1, {"method.type", "did you mean 'categorical'"});
  expect_error("method: {choices: [a]}\n", 1, {"method.type", "required"});
}

TEST(SearchSpaceErrors, Conditions) {
  const std::string method = "method: {type: categorical, choices: [full, lora]}\n";
  expect_error(method + "lora_r: {type: int, low: 1, high: 8, when: {methd: lora}}\n", 2,
               {"lora_r.when", "methd is not another parameter", "did you mean 'method'"});
  expect_error(method + "lora_r: {type: int, low: 1, high: 8, when: {method: dora}}\n", 2,
               {"lora_r.when.method", "\"dora\" is not one of method's choices"});
  expect_error(method + "num_epochs: {type: int, low: 1, high: 3}\nlora_r: {type: int, low: 1, high: 8, when: {num_epochs: 2}}\n",
               3, {"lora_r.when", "num_epochs is of type int", "categorical"});
  expect_error(method + "lora_r: {type: int, low: 1, high: 8, when: {lora_r: 1}}\n", 2, {"not another parameter"});
  expect_error(method + "lora_r: {type: int, low: 1, high: 8, when: lora}\n", 2, {"lora_r.when", "expected a mapping"});
  expect_error(
      "method: {type: categorical, choices: [full, lora], when: {optimizer: sgd}}\n"
      "optimizer: {type: categorical, choices: [adamw, sgd], when: {method: lora}}\n",
      1, {"method.when", "cycle", "method, optimizer"});
}

// --- Hostile input: a clean whet::Error, never a crash or a hang ---

void expect_clean(const std::string& text) {
  try {
    parse(text);
  } catch (const Error&) {
  }
}

TEST(SearchSpaceHostile, GarbageMutationsAndNesting) {
  std::mt19937 random(99);
  for (int round = 0; round < 60; ++round) {
    std::string bytes(1 + random() % 2000, '\0');
    for (char& b : bytes) b = static_cast<char>(random());
    EXPECT_THROW(parse(bytes), Error);
  }
  const std::string valid =
      "method: {type: categorical, choices: [full, lora]}\n"
      "lora_r: {type: int, low: 4, high: 32, step: 4, grid: [8, 16], when: {method: [lora]}}\n"
      "learning_rate: {type: float, low: 1.0e-5, high: 1.0e-3, log: true}\n";
  for (int round = 0; round < 400; ++round) {
    std::string mutated = valid;
    for (int flips = 0; flips < 3; ++flips) mutated[random() % mutated.size()] = static_cast<char>(random());
    expect_clean(mutated);
  }
  EXPECT_THROW(parse("method: {type: categorical, choices: " + std::string(100000, '[') + "}\n"), Error);
  expect_error("method: {type: categorical, choices: [[[[a]]]]}\n", 1, {"method.choices"});
  EXPECT_EQ(parse("method: &m {type: categorical, choices: [a, b]}\nlora_r: *m\n").find("lora_r")->distribution,
            parse("method: {type: categorical, choices: [a, b]}\n").find("method")->distribution);
  EXPECT_THROW(parse("method: {type: categorical, choices: *undefined}\n"), Error);
  expect_error("method: {type: categorical, choices: [a, b\xc3]}\n", 1, {"method.choices", "expected text in UTF-8"});
}

TEST(SearchSpaceHostile, LongListsStayLinear) {
  std::string choices, when;
  for (int i = 0; i < 20000; ++i) choices += fmt::format("{}c{}", i ? ", " : "", i);
  for (int i = 0; i < 10000; ++i) when += fmt::format("{}c{}", i ? ", " : "", 2 * i);
  const SearchSpace space = parse("method: {type: categorical, choices: [" + choices +
                                  "]}\nlora_r: {type: int, low: 1, high: 8, when: {method: [" + when + "]}}\n");
  EXPECT_EQ(space.find("lora_r")->when.front().choices.size(), 10000u);
  expect_error("method: {type: categorical, choices: [" + choices + ", c19999]}\n", 1, {"\"c19999\" is listed twice"});
  expect_error("method: {type: categorical, choices: [" + choices + "]}\nlora_r: {type: int, low: 1, high: 8, when: {method: x}}\n",
               2, {"\"x\" is not one of method's choices ([\"c0\",\"c1\","});
}

TEST(ParamValues, InternalValuesBecomeConfigOverrides) {
  const SearchSpace space = parse(
      "learning_rate: {type: float, low: 1.0e-5, high: 1.0e-3, log: true}\n"
      "lora_dropout: {type: float, low: 0.0, high: 0.5, step: 0.1}\n"
      "lora_r: {type: int, low: 4, high: 32}\n"
      "method: {type: categorical, choices: [full, lora]}\n"
      "use_rslora: {type: categorical, choices: [true, false]}\n");
  const auto& d = [&](const char* name) -> const Distribution& { return space.find(name)->distribution; };
  EXPECT_EQ(config_override("learning_rate", d("learning_rate"), 3e-4), "learning_rate=0.0003");
  // A continuous value as sampled (Optuna reports it so); a stepped one as its step writes it.
  EXPECT_EQ(config_override("learning_rate", d("learning_rate"), 0.1 * 3), "learning_rate=0.30000000000000004");
  EXPECT_EQ(config_override("lora_dropout", d("lora_dropout"), 0.1 * 3), "lora_dropout=0.3");
  EXPECT_EQ(config_override("lora_r", d("lora_r"), 16), "lora_r=16");
  EXPECT_EQ(config_override("method", d("method"), 1), "method=\"lora\"");
  EXPECT_EQ(external_value(d("use_rslora"), 0), nlohmann::json(true));
  const std::map<std::string, double> params = {{"lora_r", 8}, {"method", 1}};
  const auto distributions = distributions_of(space, params);
  ASSERT_EQ(distributions.size(), 2u);
  EXPECT_EQ(distributions.at("method"), d("method"));
}

}  // namespace
}  // namespace whet::tune
