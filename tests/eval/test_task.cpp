// Task files: every kind parsed from its keys, and malformed or hostile lines
// refused with the file, line and key. Also built under AddressSanitizer.
#include <gtest/gtest.h>

#include <string>

#include "eval/task.h"
#include "test_support.h"

namespace whet {
namespace {

TEST(TaskFile, EachKindIsRecognisedFromItsKeys) {
  EXPECT_EQ(parse_task("t", "{\"text\": \"a b c\"}\n").kind, TaskKind::Perplexity);
  const Task c = parse_task("t", "{\"prompt\": \"Q:\", \"label\": \"yes\"}\r\n\n{\"prompt\": \"R:\", \"label\": \"no\"}\n");
  EXPECT_EQ(c.kind, TaskKind::Classification);
  EXPECT_EQ(c.labels, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(c.items[1].line, 3u);
  const Task m = parse_task("t", "{\"prompt\": \"Q:\", \"choices\": [\"a\", \"b\"], \"answer\": 1}");
  EXPECT_EQ(m.kind, TaskKind::MultipleChoice);
  EXPECT_EQ(m.items[0].answer, 1);
  const Task g = parse_task("t", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"answers\": [\"x\", \"y\"]}");
  EXPECT_EQ(g.kind, TaskKind::Generation);
  EXPECT_EQ(g.items[0].answers.size(), 2u);
  EXPECT_EQ(g.items[0].messages[0].content, "hi");
  const Task b = parse_task("t", R"({"template": "The {group} clerk.", "groups": {"m": "male", "f": "female"}, "dimension": "gender"})");
  EXPECT_EQ(b.kind, TaskKind::Counterfactual);
  EXPECT_EQ(b.items[0].groups.size(), 2u);
}

TEST(TaskFile, MalformedLinesNameFileLineAndKey) {
  test::expect_error([] { parse_task("t.jsonl", "{\"prompt\": \"Q:\", \"label\": \"a\"}\n{\"prompt\": \"Q:\"}"); },
                     {"t.jsonl:2", "unknown task line"});
  test::expect_error([] { parse_task("t.jsonl", "{\"text\": \"x\"}\n{\"prompt\": \"Q\", \"label\": \"a\"}"); },
                     {"t.jsonl:2", "one kind per file"});
  test::expect_error([] { parse_task("t.jsonl", R"({"prompt": "Q", "choices": ["a"], "answer": 3})"); },
                     {"t.jsonl:1", "answer", "0 to 0"});
  test::expect_error([] { parse_task("t.jsonl", R"({"prompt": "Q", "choices": [], "answer": 0})"); },
                     {"t.jsonl:1", "choices"});
  test::expect_error([] { parse_task("t.jsonl", R"({"prompt": "Q", "label": ""})"); }, {"t.jsonl:1", "label: empty"});
  test::expect_error([] { parse_task("t.jsonl", R"({"prompt": "Q", "label": "only"})"); }, {"at least two labels"});
  test::expect_error([] { parse_task("t.jsonl", R"({"template": "no slot", "groups": {"a": "x", "b": "y"}})"); },
                     {"t.jsonl:1", "template"});
  test::expect_error([] { parse_task("t.jsonl", R"({"template": "{group}", "groups": {"a": "x"}})"); },
                     {"t.jsonl:1", "groups"});
  test::expect_error([] { parse_task("t.jsonl", R"({"messages": [{"role": "assistant", "content": "x"}], "answer": "y"})"); },
                     {"t.jsonl:1", "last message"});
  test::expect_error([] { parse_task("t.jsonl", "\n\n"); }, {"t.jsonl", "no task items"});
  test::expect_error([] { read_task("/nonexistent/task.jsonl"); }, {"/nonexistent/task.jsonl", "cannot read"});
}

TEST(TaskFile, HostileInputIsRefusedNotCrashedOn) {
  test::expect_error([] { parse_task("t", std::string(100000, '[')); }, {"t:1", "nested deeper"});
  test::expect_error([] { parse_task("t", "{\"text\": \"\xff\xfe\"}"); }, {"t:1", "invalid JSON"});
  test::expect_error([] { parse_task("t", std::string("{\"text\": \"a\0b\"", 15)); }, {"t:1", "invalid JSON"});
  test::expect_error([] { parse_task("t", "{\"text\": \"unterminated"); }, {"t:1", "invalid JSON"});
  test::expect_error([] { parse_task("t", "[1, 2]"); }, {"t:1", "expected a JSON object"});
  test::expect_error([] { parse_task("t", R"({"prompt": 5, "label": "a"})"); }, {"t:1", "prompt: expected a string"});
  test::expect_error([] { parse_task("t", R"({"prompt": "Q", "choices": ["a"], "answer": 1e300})"); }, {"t:1", "answer"});
  // Preference lines go through the training parser, whose refusals keep the task file's line.
  test::expect_error([] { parse_task("t", R"({"chosen": [{"role": "user"}], "rejected": "b"})"); }, {"t:1"});
  test::expect_error([] { parse_task("t", "{\"prompt\": \"p\", \"chosen\": \"\xff\", \"rejected\": \"b\"}"); }, {"t:1"});
  test::expect_error([] { parse_task("t", "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"margin\": [" +
                                              std::string(5000, '[') + "}"); },
                     {"t:1"});
  const Task big = parse_task("t", "{\"text\": \"" + std::string(3'000'000, 'x') + "\"}");
  EXPECT_EQ(big.items[0].text.size(), 3'000'000u);
}

TEST(TaskFile, ContinuationsFollowTheTrainingFormats) {
  const Task c = parse_task("t", "{\"prompt\": \"Department:\", \"label\": \"cards\"}\n"
                                 "{\"prompt\": \"Department: \", \"label\": \"fraud\"}");
  EXPECT_EQ(reference_continuation(c.items[0], c.kind), " cards");
  EXPECT_EQ(reference_continuation(c.items[1], c.kind), "fraud");
  const Example e = scored_example(c.items[0], " cards");
  EXPECT_EQ(e.format, DataFormat::Completion);
  EXPECT_EQ(e.prompt + e.completion, "Department: cards");
  // The same labelled line read as training data gives the same completion.
  const Example trained = parse_example(R"({"prompt": "Department:", "label": "cards"})", DataFormat::Auto, "f", 1);
  EXPECT_EQ(trained.completion, " cards");
  const Example chat =
      parse_example(R"({"messages": [{"role": "user", "content": "hi"}], "label": "cards"})", DataFormat::Auto, "f", 1);
  ASSERT_EQ(chat.messages.size(), 2u);
  EXPECT_EQ(chat.messages[1].role, "assistant");
  EXPECT_EQ(chat.messages[1].content, "cards");
}

TEST(TaskFile, ShotsGoBeforeTheItem) {
  const Task raw = parse_task("t", "{\"prompt\": \"Q: 1\\nA:\", \"label\": \"one\"}\n{\"prompt\": \"Q: 2\\nA:\", \"label\": \"two\"}");
  const TaskItem item = with_shots(raw.items[1], {raw.items[0]}, raw.kind);
  EXPECT_EQ(item.prompt, "Q: 1\nA: one\n\nQ: 2\nA:");
  const Task chat = parse_task("t", R"({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "u1"}], "label": "a"}
{"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "u2"}], "label": "b"})");
  const TaskItem turns = with_shots(chat.items[1], {chat.items[0]}, chat.kind);
  ASSERT_EQ(turns.messages.size(), 4u);
  EXPECT_EQ(turns.messages[0].content, "S");
  EXPECT_EQ(turns.messages[1].content, "u1");
  EXPECT_EQ(turns.messages[2].role, "assistant");
  EXPECT_EQ(turns.messages[2].content, "a");
  EXPECT_EQ(turns.messages[3].content, "u2");
}

}  // namespace
}  // namespace whet
