// Prompt lines for GRPO: messages or prompt, the other fields kept for the
// graders, the prompt tokenized as a pair's is, long prompts cut from the left,
// and bad lines named by file and line (also under AddressSanitizer).
#include <gtest/gtest.h>

#include "data/preference_example.h"
#include "data/prompt_dataset.h"
#include "data/tokenize_preference.h"
#include "data_test_support.h"

namespace whet {
namespace {

using test::expect_error;
using test::tiny_tokenizer;
using test::write_file;

const ChatTemplate kChatML = ChatTemplate::by_name("chatml");

TEST(PromptDataset, ReadsMessagesOrPromptAndKeepsTheItem) {
  const std::string dir = test::this_test_scratch("prompts");
  const std::string path = write_file(dir, "p.jsonl",
                                      "{\"messages\": [{\"role\": \"user\", \"content\": \"2 + 5?\"}], \"sum\": 7}\n\n"
                                      "{\"prompt\": \"the sky is\", \"answer\": \"blue\"}\n"
                                      "{\"prompt\": [{\"role\": \"user\", \"content\": \"hi\"}]}\r\n");
  const PromptDataset d = load_prompt_dataset(path, tiny_tokenizer(), kChatML, 64, 8, true);
  ASSERT_EQ(d.prompts.size(), 3u);
  EXPECT_EQ(d.account.blank_lines, 1u);
  EXPECT_EQ(d.prompts[0].where, path + ":1");
  EXPECT_EQ(d.prompts[0].item.at("sum"), 7);
  EXPECT_EQ(d.prompts[1].item.at("answer"), "blue");
  // The prompt is what a pair with the same conversation puts before its answers.
  PreferenceExample pair{path, 1, {{{"user", "2 + 5?"}}, ""}, "a", "b"};
  EXPECT_EQ(d.prompts[0].prompt, tokenize_pair(pair, tiny_tokenizer(), kChatML).prompt);
  EXPECT_EQ(tiny_tokenizer().decode(d.prompts[0].prompt), "<|im_start|>user\n2 + 5?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_NE(d.summary(path).find("3 prompts from 4 lines"), std::string::npos) << d.summary(path);
}

TEST(PromptDataset, LongPromptsLoseTheirFirstTokens) {
  const std::string dir = test::this_test_scratch("prompts");
  const std::string path = write_file(dir, "p.jsonl", "{\"prompt\": \"" + std::string(200, 'x') + "\"}\n");
  const PromptDataset d = load_prompt_dataset(path, tiny_tokenizer(), kChatML, 64, 16, true);
  ASSERT_EQ(d.prompts.size(), 1u);
  EXPECT_EQ(d.truncated, 1u);
  EXPECT_EQ(d.prompts[0].prompt.size() + 16, 65u);  // prompt and the longest completion fill sequence_len + 1
}

TEST(PromptDataset, BadLinesNameTheirPlace) {
  const std::string dir = test::this_test_scratch("prompts");
  auto load = [&](const std::string& text, bool strict = true) {
    return load_prompt_dataset(write_file(dir, "p.jsonl", text), tiny_tokenizer(), kChatML, 64, 8, strict);
  };
  expect_error([&] { load("{\"sum\": 7}\n"); }, {"p.jsonl:1", "messages: missing"});
  expect_error([&] { load("{\"prompt\": \"a\", \"messages\": []}\n"); }, {"p.jsonl:1", "both given"});
  expect_error([&] { load("{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", "
                          "\"content\": \"a\"}]}\n"); },
               {"p.jsonl:1", "messages[1].role: the prompt ends with an assistant turn"});
  expect_error([&] { load("[1, 2]\n"); }, {"p.jsonl:1", "expected a JSON object"});
  expect_error([&] { load("{\"prompt\": 3}\n"); }, {"p.jsonl:1", "prompt: expected a string or a list of messages"});
  expect_error([&] { load("\n\n"); }, {"no prompt in the file"});
  // Not strict: the bad line is skipped and counted.
  const PromptDataset d = load("{\"prompt\": 3}\n{\"prompt\": \"ok\"}\n\xff\xfe{\n", false);
  EXPECT_EQ(d.prompts.size(), 1u);
  EXPECT_EQ(d.account.skipped.size(), 2u);
  expect_error([&] { load_prompt_dataset(write_file(dir, "p.jsonl", "{\"prompt\": \"a\"}\n"), tiny_tokenizer(), kChatML,
                                         8, 9, true); },
               {"p.jsonl:1", "leaves no room for a prompt"});
}

}  // namespace
}  // namespace whet
