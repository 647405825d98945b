// JSONL line -> Example: the four formats, forced formats, and malformed or
// hostile lines, each rejected with the file, the line and the key.
#include <gtest/gtest.h>

#include "data/example.h"
#include "data_test_support.h"

namespace whet {
namespace {

using test::expect_error;

Example parse(std::string_view line, DataFormat format = DataFormat::Auto) {
  return parse_example(line, format, "train.jsonl", 7);
}

TEST(ParseExample, Text) {
  const Example e = parse(R"({"text": "Once upon a time", "meta": {"source": "x"}})");
  EXPECT_EQ(e.format, DataFormat::Text);
  EXPECT_EQ(e.text, "Once upon a time");
  EXPECT_EQ(e.where(), "train.jsonl:7");
}

TEST(ParseExample, Completion) {
  const Example e = parse(R"({"prompt": "2+2=", "completion": "4"})");
  EXPECT_EQ(e.format, DataFormat::Completion);
  EXPECT_EQ(e.prompt, "2+2=");
  EXPECT_EQ(e.completion, "4");
  EXPECT_EQ(parse(R"({"prompt": "", "completion": "free text"})").completion, "free text");
}

TEST(ParseExample, OpenAIChatWithWeights) {
  const Example e = parse(R"({"messages": [{"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo", "weight": 0},
      {"role": "user", "content": "Again"}, {"role": "assistant", "content": "Hello", "weight": 1}]})");
  EXPECT_EQ(e.format, DataFormat::Chat);
  ASSERT_EQ(e.messages.size(), 5u);
  EXPECT_EQ(e.messages[0].role, "system");
  EXPECT_EQ(e.messages[4].content, "Hello");
  EXPECT_EQ(e.untrained, std::vector<size_t>{2});
}

TEST(ParseExample, AlpacaBecomesOneUserAndOneAssistantTurn) {
  const Example with_input = parse(R"({"instruction": "Translate.", "input": "Bonjour", "output": "Hello"})");
  EXPECT_EQ(with_input.format, DataFormat::Alpaca);
  ASSERT_EQ(with_input.messages.size(), 2u);
  EXPECT_EQ(with_input.messages[0].role, "user");
  EXPECT_EQ(with_input.messages[0].content, "Translate.\n\nBonjour");
  EXPECT_EQ(with_input.messages[1].role, "assistant");
  EXPECT_EQ(with_input.messages[1].content, "Hello");
  for (const char* line : {R"({"instruction": "Say hi.", "input": "", "output": "Hi"})",
                           R"({"instruction": "Say hi.", "input": null, "output": "Hi"})",
                           R"({"instruction": "Say hi.", "output": "Hi"})"})
    EXPECT_EQ(parse(line).messages[0].content, "Say hi.") << line;
}

TEST(ParseExample, ForcedFormatRequiresItsKeys) {
  EXPECT_EQ(parse(R"({"text": "t", "prompt": "p", "completion": "c"})", DataFormat::Text).text, "t");
  expect_error([] { parse(R"({"messages": []})", DataFormat::Text); }, {"[train.jsonl:7]", "text: missing"});
  expect_error([] { parse(R"({"text": "t"})", DataFormat::Completion); }, {"prompt: missing"});
}

TEST(ParseExample, FormatNames) {
  for (DataFormat f : {DataFormat::Auto, DataFormat::Text, DataFormat::Completion, DataFormat::Chat, DataFormat::Alpaca})
    EXPECT_EQ(parse_data_format(data_format_name(f)), f);
  expect_error([] { parse_data_format("sharegpt"); }, {"sharegpt", "alpaca"});
}

TEST(ParseExample, MalformedLinesNameTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"text": )", "invalid JSON"},
      {R"([1, 2])", "expected a JSON object, got array"},
      {R"("text")", "expected a JSON object, got string"},
      {R"({"question": "q", "answer": "a"})", "unknown format"},
      {R"({"text": ""})", "text: empty"},
      {R"({"text": 42})", "text: expected a string, got number"},
      {R"({"prompt": "p", "completion": ""})", "completion: empty"},
      {R"({"prompt": ["p"], "completion": "c"})", "prompt: expected a string, got array"},
      {R"({"messages": []})", "messages: empty"},
      {R"({"messages": {"role": "user"}})", "messages: expected an array, got object"},
      {R"({"messages": ["hi"]})", "messages[0]: expected an object, got string"},
      {R"({"messages": [{"role": "bot", "content": "x"}]})", "messages[0].role: \"bot\" is not one of"},
      {R"({"messages": [{"role": "user"}]})", "messages[0].content: missing"},
      {R"({"messages": [{"role": "user", "content": 3.5}]})", "messages[0].content: expected a string, got number"},
      {R"({"messages": [{"role": 1, "content": "x"}]})", "messages[0].role: expected a string, got number"},
      {R"({"messages": [{"role": "user", "content": "x"}]})", "no assistant message"},
      {R"({"messages": [{"role": "user", "content": "x", "weight": 0}, {"role": "assistant", "content": "y"}]})",
       "messages[0].weight: only assistant messages"},
      {R"({"messages": [{"role": "assistant", "content": "x", "weight": 0.5}]})", "messages[0].weight: expected 0 or 1"},
      {R"({"instruction": "", "output": "o"})", "instruction: empty"},
      {R"({"instruction": "i", "output": "o", "input": 5})", "input: expected a string, got number"},
      {R"({"instruction": "i"})", "output: missing"},
  };
  for (const auto& [line, reason] : cases) expect_error([&] { parse(line); }, {"[train.jsonl:7]", reason});
}

// ---------------------------------------------------------------- hostile lines

TEST(ParseExample, DeepNestingIsRejectedWithoutRecursion) {
  expect_error([] { parse(std::string(1000000, '[')); }, {"nested deeper than 64"});
  std::string deep_meta = R"({"text": "t", "meta": )" + std::string(100, '[') + std::string(100, ']') + "}";
  expect_error([&] { parse(deep_meta); }, {"nested deeper"});
  std::string shallow_meta = R"({"text": "t", "meta": )" + std::string(20, '[') + std::string(20, ']') + "}";
  EXPECT_EQ(parse(shallow_meta).text, "t");
}

TEST(ParseExample, InvalidUtf8IsAnErrorThatDoesNotQuoteTheBytes) {
  const std::string line = "{\"text\": \"abc\xC3\x28 and \xFF\xFE\"}";
  try {
    parse(line);
    ADD_FAILURE() << "accepted invalid UTF-8";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("invalid JSON"), std::string::npos) << what;
    EXPECT_NE(what.find("UTF-8"), std::string::npos) << what;
    EXPECT_EQ(what.find('\xFF'), std::string::npos);
    EXPECT_EQ(what.find('\xC3'), std::string::npos);
  }
  expect_error([] { parse("{\"text\": \"\xED\xA0\x80\"}"); }, {"invalid JSON"});  // a UTF-16 surrogate
}

TEST(ParseExample, NumbersWhereStringsAreExpected) {
  expect_error([] { parse(R"({"messages": [{"role": "user", "content": 1e999}]})"); }, {"invalid JSON"});
  expect_error([] { parse(R"({"prompt": 1, "completion": 2})"); }, {"prompt: expected a string, got number"});
  expect_error([] { parse(R"({"instruction": true, "output": "o"})"); }, {"instruction: expected a string, got boolean"});
}

TEST(ParseExample, MegabyteLinesAreFine) {
  const std::string text(1 << 20, 'x');
  EXPECT_EQ(parse(R"({"text": ")" + text + "\"}").text.size(), text.size());
  // An unterminated megabyte string: the error stays short.
  try {
    parse(R"({"text": ")" + text);
    ADD_FAILURE() << "accepted an unterminated string";
  } catch (const Error& e) {
    EXPECT_LT(std::string(e.what()).size(), 400u) << e.what();
  }
}

}  // namespace
}  // namespace whet
