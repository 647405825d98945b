// Preference data: the three shapes parsed (OpenAI, TRL with strings, messages
// and implicit prompts, KTO), corrupt and hostile lines refused with file:line
// and key, supervised and preference lines kept apart, tokenization whose
// targets are exactly each answer and its end marker after one shared prompt,
// fitting to sequence_len, the loaders' accounting, and `whet data validate`'s
// counts. Parsing tests also run under AddressSanitizer (whet_parser_asan_tests).
#include <gtest/gtest.h>

#include <algorithm>

#include "data/jsonl_reader.h"
#include "data/preference_dataset.h"
#include "data/preference_example.h"
#include "data/tokenize_preference.h"
#include "data_test_support.h"

namespace whet {
namespace {

using test::expect_error;
using test::tiny_tokenizer;
using test::write_file;

const ChatTemplate kChatML = ChatTemplate::by_name("chatml");

PreferenceLine parse(std::string_view line, DataFormat format = DataFormat::Auto) {
  return parse_preference_line(line, format, "pairs.jsonl", 4);
}
PreferenceExample pair_of(std::string_view line) { return std::get<PreferenceExample>(parse(line)); }
UnpairedExample unpaired_of(std::string_view line) { return std::get<UnpairedExample>(parse(line)); }

constexpr std::string_view kOpenAi =
    R"({"input": {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Sky?"}],)"
    R"( "tools": [], "parallel_tool_calls": true},)"
    R"( "preferred_output": [{"role": "assistant", "content": "Blue."}],)"
    R"( "non_preferred_output": [{"role": "assistant", "content": "It is green, I think."}]})";
constexpr std::string_view kTrlText = R"({"prompt": "Q: the sky? A:", "chosen": " blue", "rejected": " green"})";
constexpr std::string_view kTrlChat =
    R"({"prompt": [{"role": "user", "content": "Sky?"}], "chosen": [{"role": "assistant", "content": "Blue."}],)"
    R"( "rejected": [{"role": "assistant", "content": "Green."}]})";
constexpr std::string_view kTrlImplicit =
    R"({"chosen": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},)"
    R"( {"role": "user", "content": "Sky?"}, {"role": "assistant", "content": "Blue."}],)"
    R"( "rejected": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},)"
    R"( {"role": "user", "content": "Sky?"}, {"role": "assistant", "content": "Green."}]})";
constexpr std::string_view kKtoText = R"({"prompt": "Q: the sky? A:", "completion": " green", "label": false})";
constexpr std::string_view kKtoChat =
    R"({"prompt": [{"role": "user", "content": "Sky?"}], "completion": [{"role": "assistant", "content": "Blue."}],)"
    R"( "label": true})";

// ---------------------------------------------------------------- the three shapes

TEST(PreferenceExample, OpenAiPreferenceLine) {
  const PreferenceExample p = pair_of(kOpenAi);
  ASSERT_TRUE(p.prompt.chat());
  ASSERT_EQ(p.prompt.messages.size(), 2u);
  EXPECT_EQ(p.prompt.messages[0].role, "system");
  EXPECT_EQ(p.prompt.messages[1].content, "Sky?");
  EXPECT_EQ(p.chosen, "Blue.");
  EXPECT_EQ(p.rejected, "It is green, I think.");
  EXPECT_EQ(p.where(), "pairs.jsonl:4");
}

TEST(PreferenceExample, TrlStandardAndConversational) {
  const PreferenceExample text = pair_of(kTrlText);
  EXPECT_FALSE(text.prompt.chat());
  EXPECT_EQ(text.prompt.text, "Q: the sky? A:");
  EXPECT_EQ(text.chosen, " blue");  // raw text keeps its spaces: it follows the prompt as it is
  EXPECT_EQ(text.rejected, " green");
  const PreferenceExample chat = pair_of(kTrlChat);
  ASSERT_EQ(chat.prompt.messages.size(), 1u);
  EXPECT_EQ(chat.chosen, "Blue.");
  EXPECT_EQ(chat.rejected, "Green.");
}

TEST(PreferenceExample, TrlImplicitPromptIsTheSharedTurns) {
  const PreferenceExample p = pair_of(kTrlImplicit);
  ASSERT_EQ(p.prompt.messages.size(), 3u);
  EXPECT_EQ(p.prompt.messages[1].role, "assistant");
  EXPECT_EQ(p.prompt.messages[2].content, "Sky?");
  EXPECT_EQ(p.chosen, "Blue.");
  EXPECT_EQ(p.rejected, "Green.");
}

// A reward model's optional margin (TRL's column) rides along with the pair and
// into its tokens; the reward model reads each answer whole after its prompt.
TEST(PreferenceExample, MarginIsReadAndCarriedToTheRewardPair) {
  EXPECT_DOUBLE_EQ(pair_of(kTrlText).margin, 0.0);
  const PreferenceExample p =
      pair_of(R"({"prompt": [{"role": "user", "content": "Sky?"}], "chosen": [{"role": "assistant", "content": "Blue."}],)"
              R"( "rejected": [{"role": "assistant", "content": "Green."}], "margin": 1.5})");
  EXPECT_DOUBLE_EQ(p.margin, 1.5);
  const TokenizedPair t = tokenize_pair(p, tiny_tokenizer(), kChatML);
  EXPECT_DOUBLE_EQ(t.margin, 1.5);
  const RewardPair r = reward_pair(t);
  EXPECT_DOUBLE_EQ(r.margin, 1.5);
  EXPECT_EQ(tiny_tokenizer().decode(r.chosen), kChatML.render(p.prompt.messages, true) + "Blue.<|im_end|>");
  EXPECT_EQ(tiny_tokenizer().decode(r.rejected), kChatML.render(p.prompt.messages, true) + "Green.<|im_end|>");
  for (const char* bad : {R"("2")", "[1]", "true"}) {
    SCOPED_TRACE(bad);
    expect_error([&] { pair_of(std::string(R"({"prompt": "p", "chosen": "c", "rejected": "r", "margin": )") + bad + "}"); },
                 {"pairs.jsonl:4", "margin: expected a finite number"});
  }
}

TEST(PreferenceExample, KtoStandardAndConversational) {
  const UnpairedExample text = unpaired_of(kKtoText);
  EXPECT_EQ(text.prompt.text, "Q: the sky? A:");
  EXPECT_EQ(text.completion, " green");
  EXPECT_FALSE(text.desirable);
  const UnpairedExample chat = unpaired_of(kKtoChat);
  EXPECT_TRUE(chat.prompt.chat());
  EXPECT_EQ(chat.completion, "Blue.");
  EXPECT_TRUE(chat.desirable);
}

TEST(PreferenceExample, NullMembersAreAbsentAsInSupervisedLines) {
  const PreferenceExample p = pair_of(R"({"prompt": "p", "chosen": "a", "rejected": "b", "preferred_output": null})");
  EXPECT_EQ(p.chosen, "a");
}

// ---------------------------------------------------------------- supervised and preference kept apart

TEST(PreferenceExample, SupervisedReaderRefusesPreferenceLinesByName) {
  for (std::string_view line : {kOpenAi, kTrlText, kTrlChat, kTrlImplicit})
    expect_error([&] { parse_example(line, DataFormat::Auto, "sft.jsonl", 2); },
                 {"[sft.jsonl:2]", "format preference: preference data", "method dpo"});
  for (std::string_view line : {kKtoText, kKtoChat})
    expect_error([&] { parse_example(line, DataFormat::Auto, "sft.jsonl", 2); }, {"[sft.jsonl:2]", "format kto: preference data", "method kto"});
  expect_error([] { parse_example(R"({"text": "t"})", DataFormat::Preference, "sft.jsonl", 2); },
               {"format preference: preference data"});
  // A text label stays a supervised answer ({"prompt", "label"}), with or without completion.
  EXPECT_EQ(parse_example(R"({"prompt": "Dept:", "label": "cards"})", DataFormat::Auto, "f", 1).format,
            DataFormat::Completion);
  EXPECT_EQ(parse_example(R"({"prompt": "p", "completion": "c", "label": "x"})", DataFormat::Auto, "f", 1).format,
            DataFormat::Completion);
}

TEST(PreferenceExample, PreferenceReaderRefusesSupervisedLinesByName) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"text": "t"})", "format text: a supervised example"},
      {R"({"prompt": "p", "completion": "c"})", "format completion: a supervised example"},
      {R"({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})",
       "format chat: a supervised example"},
      {R"({"instruction": "i", "output": "o"})", "format alpaca: a supervised example"},
  };
  for (const auto& [line, reason] : cases) expect_error([&] { parse(line); }, {"[pairs.jsonl:4]", reason, "chosen"});
  expect_error([] { parse(kTrlText, DataFormat::Chat); }, {"format chat: a supervised example"});
}

TEST(PreferenceExample, FormatsForcedByTheConfig) {
  EXPECT_EQ(pair_of(std::string(kTrlText)).chosen, std::get<PreferenceExample>(parse(kTrlText, DataFormat::Preference)).chosen);
  expect_error([] { parse(kTrlText, DataFormat::Kto); }, {"label: missing"});
  expect_error([] { parse(R"({"prompt": "p", "completion": "c", "label": "good"})", DataFormat::Kto); },
               {"label: expected true or false, got string"});
  expect_error([] { parse(kKtoText, DataFormat::Preference); }, {"chosen: missing"});
}

// ---------------------------------------------------------------- corrupt and hostile lines

TEST(PreferenceExample, MalformedLinesNameFileLineAndKey) {
  const std::string user = R"([{"role": "user", "content": "q"}])";
  const std::string reply = R"([{"role": "assistant", "content": "a"}])";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"prompt": "p", "chosen": )", "invalid JSON"},
      {R"([{"chosen": "a"}])", "expected a JSON object, got array"},
      {R"({"prompt": "p", "chosen": 3, "rejected": "r"})", "chosen: expected a string, as the prompt is, got number"},
      {R"({"prompt": "p", "chosen": "c"})", "rejected: missing"},
      {R"({"prompt": "p", "chosen": "", "rejected": "r"})", "chosen: empty"},
      {R"({"prompt": "p", "chosen": "same", "rejected": "same"})", "rejected: the same answer as chosen"},
      {R"({"prompt": 7, "chosen": "c", "rejected": "r"})", "prompt: expected a string or a list of messages, got number"},
      {R"({"prompt": [], "chosen": "c", "rejected": "r"})", "prompt: empty"},
      {R"({"prompt": )" + user + R"(, "chosen": "c", "rejected": )" + reply + "}",
       "chosen: expected a list of messages, got string"},
      {R"({"prompt": )" + user + R"(, "chosen": )" + user + R"(, "rejected": )" + reply + "}",
       "chosen[0].role: an answer is an assistant message, not user"},
      {R"({"prompt": )" + user + R"(, "chosen": [{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}], "rejected": )" +
           reply + "}",
       "chosen: expected one assistant message, got 2"},
      {R"({"prompt": )" + user + R"(, "chosen": )" + reply + R"(, "rejected": [{"role": "assistant", "content": ""}]})",
       "rejected[0].content: empty"},
      {R"({"prompt": )" + user + R"(, "chosen": )" + reply + R"(, "rejected": [{"role": "assistant"}]})",
       "rejected[0].content: missing"},
      {R"({"prompt": [{"role": "bot", "content": "q"}], "chosen": )" + reply + R"(, "rejected": )" + reply + "}",
       "prompt[0].role: \"bot\" is not one of"},
      {R"({"prompt": )" + user + R"(, "chosen": )" + reply + R"(, "rejected": )" + reply + "}",
       "rejected: the same answer as chosen"},
      {R"({"chosen": "The sky is blue.", "rejected": "The sky is green."})", "prompt: missing"},
      {R"({"chosen": )" + reply + R"(, "rejected": [{"role": "assistant", "content": "b"}]})",
       "chosen, rejected: no shared first turn"},
      {R"({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})",
       "rejected: the same conversation as chosen"},
      {R"({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}, {"role": "user", "content": "r"}, {"role": "assistant", "content": "s"}], "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]})",
       "chosen: expected one assistant message after the 1 turns shared with the other answer, got 3"},
      {R"({"preferred_output": )" + reply + R"(, "non_preferred_output": )" + reply + "}", "input: missing"},
      {R"({"input": "q", "preferred_output": )" + reply + R"(, "non_preferred_output": )" + reply + "}",
       "input: expected an object holding \"messages\", got string"},
      {R"({"input": {"messages": )" + user + R"(, "tools": [{"type": "function"}]}, "preferred_output": )" + reply +
           R"(, "non_preferred_output": [{"role": "assistant", "content": "b"}]})",
       "input.tools: tool definitions are not supported"},
      {R"({"input": {"messages": [{"role": "bot", "content": "q"}]}, "preferred_output": )" + reply + "}",
       "input.messages[0].role"},
      {R"({"input": {}, "preferred_output": )" + reply + "}", "input.messages: missing"},
      {R"({"input": {"messages": )" + user + R"(}, "preferred_output": )" + reply + "}", "non_preferred_output: missing"},
      {R"({"input": {"messages": )" + user + R"(}, "preferred_output": {"role": "assistant", "content": "a"}})",
       "preferred_output: expected a list of messages, got object"},
      {R"({"input": {"messages": )" + user + R"(}, "preferred_output": )" + reply + R"(, "non_preferred_output": )" +
           reply + "}",
       "non_preferred_output: the same answer as preferred_output"},
      {R"({"prompt": "p", "chosen": "a", "rejected": "b", "preferred_output": )" + reply + "}",
       "both TRL's and OpenAI's keys"},
      {R"({"prompt": "p", "label": true})", "completion: missing"},
      {R"({"prompt": "p", "completion": "", "label": false})", "completion: empty"},
      {R"({"prompt": )" + user + R"(, "completion": "a", "label": true})", "completion: expected a list of messages"},
      {R"({"completion": "a", "label": true})", "prompt: missing"},
  };
  for (const auto& [line, reason] : cases) {
    SCOPED_TRACE(line);
    expect_error([&] { parse(line); }, {"[pairs.jsonl:4]", reason});
  }
}

TEST(PreferenceExample, HostileLinesFailCleanly) {
  expect_error([] { parse(std::string(1000000, '[')); }, {"nested deeper than 64"});
  expect_error([] { parse("{\"prompt\": \"p\", \"chosen\": \"\xC3\x28\", \"rejected\": \"r\"}"); }, {"invalid JSON"});
  expect_error([] { parse(R"({"prompt": "p", "chosen": 1e999, "rejected": "r"})"); }, {"invalid JSON"});
  // Every prefix and a byte flipped at every position of valid lines: an answer or a whet::Error, never a crash.
  for (std::string_view valid : {kOpenAi, kTrlImplicit, kKtoChat}) {
    for (size_t cut = 0; cut < valid.size(); ++cut) {
      std::string line(valid.substr(0, cut));
      try {
        parse(line);
      } catch (const Error&) {
      }
      line = std::string(valid);
      line[cut] = char(line[cut] ^ 0x5B);
      try {
        parse(line);
      } catch (const Error&) {
      }
    }
  }
}

// ---------------------------------------------------------------- tokenization

// The text of a sequence's targets (what the model is trained to predict).
std::string target_text(const TrainingSequence& s) {
  std::vector<int32_t> ids;
  for (int32_t t : s.targets)
    if (t >= 0) ids.push_back(t);
  return tiny_tokenizer().decode(ids);
}

// Checks the layout every answer sequence must have and returns the number of targets.
size_t check_answer_sequence(const TrainingSequence& s, const std::vector<int32_t>& prompt,
                             const std::vector<int32_t>& answer) {
  const size_t positions = prompt.size() + answer.size() - 1;
  EXPECT_EQ(s.ids.size(), positions);
  EXPECT_EQ(s.targets.size(), positions);
  for (size_t i = 0; i < positions; ++i) {
    EXPECT_EQ(s.ids[i], i < prompt.size() ? prompt[i] : answer[i - prompt.size()]) << i;
    EXPECT_EQ(s.targets[i], i + 1 < prompt.size() ? -1 : answer[i + 1 - prompt.size()]) << i;
    EXPECT_EQ(s.positions[i], int32_t(i));
    EXPECT_EQ(s.segment_begin[i], 0);
  }
  return size_t(std::count_if(s.targets.begin(), s.targets.end(), [](int32_t t) { return t >= 0; }));
}

TEST(TokenizePreference, AnswerSequenceByHand) {
  const std::vector<int32_t> prompt = {1, 2, 3}, answer = {4, 5};
  const TrainingSequence s = answer_sequence(prompt, answer);
  EXPECT_EQ(s.ids, (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(s.targets, (std::vector<int32_t>{-1, -1, 4, 5}));
  EXPECT_EQ(s.positions, (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(s.segment_begin, (std::vector<int32_t>{0, 0, 0, 0}));
  const TrainingSequence one = answer_sequence(std::vector<int32_t>{7}, std::vector<int32_t>{8});
  EXPECT_EQ(one.ids, (std::vector<int32_t>{7}));
  EXPECT_EQ(one.targets, (std::vector<int32_t>{8}));
}

TEST(TokenizePreference, RawTextTargetsAreTheAnswerAndEos) {
  const TokenizedPair t = tokenize_pair(pair_of(kTrlText), tiny_tokenizer(), kChatML);
  EXPECT_EQ(tiny_tokenizer().decode(t.prompt), "Q: the sky? A:");
  EXPECT_EQ(tiny_tokenizer().decode(t.chosen), " blue<|endoftext|>");
  EXPECT_EQ(tiny_tokenizer().decode(t.rejected), " green<|endoftext|>");
  EXPECT_EQ(check_answer_sequence(t.chosen_sequence(), t.prompt, t.chosen), t.chosen.size());
  EXPECT_EQ(check_answer_sequence(t.rejected_sequence(), t.prompt, t.rejected), t.rejected.size());
  EXPECT_EQ(target_text(t.chosen_sequence()), " blue<|endoftext|>");
  // The same tokens supervised training gives the completion example.
  const TokenizedExample sft = tokenize_example(
      parse_example(R"({"prompt": "Q: the sky? A:", "completion": " blue"})", DataFormat::Auto, "f", 1), tiny_tokenizer(),
      kChatML, false);
  std::vector<int32_t> joined = t.prompt;
  joined.insert(joined.end(), t.chosen.begin(), t.chosen.end());
  EXPECT_EQ(joined, sft.ids);
}

TEST(TokenizePreference, ChatPromptEndsWithTheGenerationPromptAndIsSharedByBothAnswers) {
  for (std::string_view line : {kOpenAi, kTrlChat, kTrlImplicit}) {
    SCOPED_TRACE(line);
    const PreferenceExample pair = pair_of(line);
    const TokenizedPair t = tokenize_pair(pair, tiny_tokenizer(), kChatML);
    EXPECT_EQ(tiny_tokenizer().decode(t.prompt), kChatML.render(pair.prompt.messages, /*add_generation_prompt=*/true));
    EXPECT_EQ(tiny_tokenizer().decode(t.chosen), pair.chosen + "<|im_end|>");
    EXPECT_EQ(tiny_tokenizer().decode(t.rejected), pair.rejected + "<|im_end|>");
    const TrainingSequence chosen = t.chosen_sequence(), rejected = t.rejected_sequence();
    EXPECT_EQ(check_answer_sequence(chosen, t.prompt, t.chosen), t.chosen.size());
    EXPECT_EQ(check_answer_sequence(rejected, t.prompt, t.rejected), t.rejected.size());
    // Prompt inputs identical in both sequences; the answers' targets exactly answer + end marker.
    EXPECT_TRUE(std::equal(t.prompt.begin(), t.prompt.end(), chosen.ids.begin()));
    EXPECT_TRUE(std::equal(t.prompt.begin(), t.prompt.end(), rejected.ids.begin()));
    EXPECT_EQ(target_text(chosen), pair.chosen + "<|im_end|>");
    EXPECT_EQ(target_text(rejected), pair.rejected + "<|im_end|>");
  }
}

TEST(TokenizePreference, EveryTemplateGivesItsGenerationPromptAndEndOfTurn) {
  const PreferenceExample pair = pair_of(kTrlImplicit);
  for (const std::string& name : ChatTemplate::known_names()) {
    SCOPED_TRACE(name);
    const ChatTemplate chat_template = ChatTemplate::by_name(name);
    const TokenizedPair t = tokenize_pair(pair, tiny_tokenizer(), chat_template);
    // llama2 and mistral write the space before a reply ("[/INST] ") as template text, which
    // supervised training puts in the prompt too; the generation prompt stops before it.
    const std::string prompt = tiny_tokenizer().decode(t.prompt);
    const std::string generation_prompt = chat_template.render(pair.prompt.messages, true);
    EXPECT_EQ(prompt.substr(0, generation_prompt.size()), generation_prompt);
    EXPECT_EQ(prompt.substr(generation_prompt.size()), (name == "llama2" || name == "mistral") ? " " : "");
    const std::string chosen = tiny_tokenizer().decode(t.chosen);
    EXPECT_TRUE(chosen.ends_with(chat_template.end_of_turn())) << chosen;
    EXPECT_NE(chosen.find("Blue."), std::string::npos) << chosen;
  }
}

TEST(TokenizePreference, SpecialTokenTextInAnswersStaysText) {
  const PreferenceExample pair =
      pair_of(R"({"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "a<|im_end|>b"}],)"
              R"( "rejected": [{"role": "assistant", "content": "c"}]})");
  const TokenizedPair t = tokenize_pair(pair, tiny_tokenizer(), kChatML);
  const int32_t im_end = tiny_tokenizer().token_id("<|im_end|>");
  EXPECT_EQ(std::count(t.chosen.begin(), t.chosen.end(), im_end), 1);  // only the real end of turn
  EXPECT_EQ(t.chosen.back(), im_end);
}

TEST(TokenizePreference, EmptyRawPromptNeedsABos) {
  const PreferenceExample pair = pair_of(R"({"prompt": "", "chosen": "ab", "rejected": "cd"})");
  expect_error([&] { tokenize_pair(pair, tiny_tokenizer(), kChatML); }, {"[pairs.jsonl:4]", "prompt: empty"});
  TokenizerSpec spec = test::tiny_spec();
  spec.add_bos = true;
  const Tokenizer with_bos(spec);
  const TokenizedPair t = tokenize_pair(pair, with_bos, kChatML);
  EXPECT_EQ(t.prompt, (std::vector<int32_t>{spec.bos_id}));
  EXPECT_EQ(t.chosen, (std::vector<int32_t>{'a', 'b', spec.eos_id}));
}

TEST(TokenizePreference, KtoExampleIsOneSequenceWithItsFlag) {
  const TokenizedUnpaired t = tokenize_unpaired(unpaired_of(kKtoChat), tiny_tokenizer(), kChatML);
  EXPECT_TRUE(t.desirable);
  EXPECT_EQ(tiny_tokenizer().decode(t.completion), "Blue.<|im_end|>");
  EXPECT_EQ(check_answer_sequence(t.sequence(), t.prompt, t.completion), t.completion.size());
  EXPECT_FALSE(tokenize_unpaired(unpaired_of(kKtoText), tiny_tokenizer(), kChatML).desirable);
}

TEST(TokenizePreference, FitPromptCutsFromTheLeftKeepingBos) {
  std::vector<int32_t> prompt = {9, 1, 2, 3, 4, 5};
  EXPECT_EQ(fit_prompt(prompt, 3, 8, false, 9), LengthFit::Whole);  // 6 + 3 = 9 = sequence_len + 1
  EXPECT_EQ(prompt.size(), 6u);
  EXPECT_EQ(fit_prompt(prompt, 3, 6, false, 9), LengthFit::Truncated);  // room for 4 prompt tokens
  EXPECT_EQ(prompt, (std::vector<int32_t>{9, 3, 4, 5}));
  std::vector<int32_t> no_bos = {1, 2, 3, 4};
  EXPECT_EQ(fit_prompt(no_bos, 3, 4, false, 9), LengthFit::Truncated);
  EXPECT_EQ(no_bos, (std::vector<int32_t>{3, 4}));
  std::vector<int32_t> kept = {1, 2, 3, 4};
  EXPECT_EQ(fit_prompt(kept, 3, 4, /*drop_long=*/true, 9), LengthFit::Dropped);
  EXPECT_EQ(kept.size(), 4u);  // untouched when dropped
  EXPECT_EQ(fit_prompt(kept, 5, 4, false, 9), LengthFit::Dropped);  // the answer fills every position
  std::vector<int32_t> bos_only_room = {9, 1, 2};
  EXPECT_EQ(fit_prompt(bos_only_room, 4, 4, false, 9), LengthFit::Dropped);  // BOS alone is no prompt
}

// ---------------------------------------------------------------- loaders and validation

struct Files {
  std::string dir = test::data_scratch();
  std::string write(const std::string& name, const std::string& text) { return write_file(dir, name, text); }
};

std::string pairs_file(int count) {
  std::string text;
  for (int i = 0; i < count; ++i)
    text += R"({"prompt": "Q)" + std::to_string(i) + R"(: the sky? A:", "chosen": " blue", "rejected": " green"})" "\n";
  return text;
}

TEST(PreferenceDataset, EveryLineIsAccountedFor) {
  Files files;
  const std::string path = files.write(
      "mixed.jsonl", std::string(kOpenAi) + "\n\n" + std::string(kTrlText) + "\r\n" + std::string(kTrlChat) + "\n" +
                         std::string(kTrlImplicit) + "\n" + R"({"prompt": "p", "chosen": "x", "rejected": "x"})" +
                         "\n" + std::string(kKtoText) + "\n" + R"({"messages": [{"role": "user", "content": "q"}]})" +
                         "\n" + "{\"prompt\": \"\xFF\", \"chosen\": \"a\", \"rejected\": \"b\"}\n");
  const PreferenceDataset d = load_preference_dataset({path}, {}, tiny_tokenizer(), kChatML, {});
  EXPECT_EQ(d.stats.lines, 9u);
  EXPECT_EQ(d.stats.blank_lines, 1u);
  EXPECT_EQ(d.stats.pairs, 4u);
  ASSERT_EQ(d.stats.skipped.size(), 4u);
  EXPECT_EQ(d.stats.skipped[0].line, 6u);
  EXPECT_NE(d.stats.skipped[0].reason.find("rejected: the same answer as chosen"), std::string::npos);
  EXPECT_NE(d.stats.skipped[1].reason.find("format kto: one completion"), std::string::npos);
  EXPECT_NE(d.stats.skipped[2].reason.find("format chat: a supervised example"), std::string::npos);
  EXPECT_NE(d.stats.skipped[3].reason.find("invalid UTF-8"), std::string::npos);
  EXPECT_EQ(d.train.size(), 4u);
  EXPECT_TRUE(d.validation.empty());
  size_t prompt_tokens = 0, answer_tokens = 0;
  for (const TokenizedPair& p : d.train) prompt_tokens += p.prompt.size(), answer_tokens += p.chosen.size() + p.rejected.size();
  EXPECT_EQ(d.stats.train.prompt_tokens, prompt_tokens);
  EXPECT_EQ(d.stats.train.answer_tokens, answer_tokens);
  const std::string summary = d.stats.summary();
  EXPECT_NE(summary.find("9 lines read (1 blank, 4 skipped), 4 pairs"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Skipped " + path + ":6: rejected: the same answer"), std::string::npos) << summary;

  DataOptions strict;
  strict.strict = true;
  expect_error([&] { load_preference_dataset({path}, {}, tiny_tokenizer(), kChatML, strict); },
               {"[" + path + ":6]", "rejected: the same answer as chosen"});
}

TEST(PreferenceDataset, SplitAndShuffleFollowTheSeed) {
  Files files;
  const std::string path = files.write("pairs.jsonl", pairs_file(20));
  DataOptions options;
  options.val_set_size = 0.25;
  const PreferenceDataset a = load_preference_dataset({path}, {}, tiny_tokenizer(), kChatML, options);
  const PreferenceDataset b = load_preference_dataset({path}, {}, tiny_tokenizer(), kChatML, options);
  EXPECT_EQ(a.train.size(), 15u);
  EXPECT_EQ(a.validation.size(), 5u);
  std::vector<std::string> seen;
  for (size_t i = 0; i < a.train.size(); ++i) {
    EXPECT_EQ(a.train[i].prompt, b.train[i].prompt);
    seen.push_back(tiny_tokenizer().decode(a.train[i].prompt));
  }
  for (const TokenizedPair& p : a.validation) seen.push_back(tiny_tokenizer().decode(p.prompt));
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());  // no pair on both sides
  EXPECT_NE(a.stats.summary().find("Validation: 5 pairs"), std::string::npos) << a.stats.summary();
  options.seed = 7;
  const PreferenceDataset c = load_preference_dataset({path}, {}, tiny_tokenizer(), kChatML, options);
  bool differs = false;
  for (size_t i = 0; i < c.train.size(); ++i) differs |= c.train[i].prompt != a.train[i].prompt;
  EXPECT_TRUE(differs);
  // A validation file instead of a fraction; both at once is refused.
  const std::string val = files.write("val.jsonl", std::string(kTrlChat) + "\n");
  const PreferenceDataset with_file =
      load_preference_dataset({path}, {val}, tiny_tokenizer(), kChatML, DataOptions{});
  EXPECT_EQ(with_file.train.size(), 20u);
  EXPECT_EQ(with_file.validation.size(), 1u);
  expect_error([&] { load_preference_dataset({path}, {val}, tiny_tokenizer(), kChatML, options); }, {"not both"});
}

TEST(PreferenceDataset, LongPairsAreTruncatedOrDroppedAndCounted) {
  Files files;
  const std::string path = files.write(
      "long.jsonl", R"({"prompt": "0123456789", "chosen": "ab", "rejected": "abcd"})" "\n"
                    R"({"prompt": "p", "chosen": "0123456789abcdef", "rejected": "x"})" "\n"
                    R"({"prompt": "pq", "chosen": "a", "rejected": "b"})" "\n");
  DataOptions options;
  options.sequence_len = 8;  // 9 tokens: the answer "abcd" + EOS leaves 4 for the prompt
  const PreferenceDataset d = load_preference_dataset({path}, {}, tiny_tokenizer(), kChatML, options);
  EXPECT_EQ(d.stats.train.offered, 3u);
  EXPECT_EQ(d.stats.train.truncated, 1u);
  EXPECT_EQ(d.stats.train.dropped_long, 1u);  // a 17-token answer cannot fit
  ASSERT_EQ(d.train.size(), 2u);
  for (const TokenizedPair& p : d.train) {
    EXPECT_LE(p.chosen_sequence().ids.size(), 8u);
    EXPECT_LE(p.rejected_sequence().ids.size(), 8u);
    if (p.rejected.size() == 5) {
      EXPECT_EQ(tiny_tokenizer().decode(p.prompt), "6789");  // its last tokens
    }
  }
  EXPECT_NE(d.stats.summary().find("1 truncated"), std::string::npos);
  options.drop_long = true;
  const PreferenceDataset dropped = load_preference_dataset({path}, {}, tiny_tokenizer(), kChatML, options);
  EXPECT_EQ(dropped.stats.train.dropped_long, 2u);
  EXPECT_EQ(dropped.train.size(), 1u);
}

TEST(PreferenceDataset, KtoReadsUnpairedLinesAndSplitsPairs) {
  Files files;
  const std::string path = files.write(
      "kto.jsonl", std::string(kKtoText) + "\n" + std::string(kKtoChat) + "\n" + std::string(kTrlChat) + "\n");
  const UnpairedDataset d = load_unpaired_dataset({path}, {}, tiny_tokenizer(), kChatML, {});
  EXPECT_EQ(d.stats.desirable, 1u);
  EXPECT_EQ(d.stats.undesirable, 1u);
  EXPECT_EQ(d.stats.pairs, 1u);
  ASSERT_EQ(d.train.size(), 4u);
  EXPECT_EQ(std::count_if(d.train.begin(), d.train.end(), [](const TokenizedUnpaired& u) { return u.desirable; }), 2);
  EXPECT_NE(d.stats.summary().find("Training: 4 examples"), std::string::npos) << d.stats.summary();
}

TEST(PreferenceDataset, OptionsThatCannotWork) {
  Files files;
  const std::string path = files.write("pairs.jsonl", pairs_file(2));
  DataOptions options;
  options.format = DataFormat::Chat;
  expect_error([&] { load_preference_dataset({path}, {}, tiny_tokenizer(), kChatML, options); },
               {"data_format chat is not preference data"});
  options.format = DataFormat::Kto;
  expect_error([&] { load_preference_dataset({path}, {}, tiny_tokenizer(), kChatML, options); },
               {"data_format kto holds unpaired examples"});
  const std::string sft = files.write("sft.jsonl", R"({"text": "t"})" "\n");
  expect_error([&] { load_preference_dataset({sft}, {}, tiny_tokenizer(), kChatML, {}); },
               {"nothing to train on", "format text: a supervised example"});
  // And the supervised reader skips every line of a preference file, saying why.
  DataStats stats;
  EXPECT_TRUE(read_examples(path, {}, stats).empty());
  ASSERT_EQ(stats.skipped.size(), 2u);
  EXPECT_NE(stats.skipped[0].reason.find("format preference: preference data"), std::string::npos);
}

TEST(PreferenceDataset, ValidateCountsEachFormat) {
  Files files;
  const std::string path = files.write(
      "all.jsonl", std::string(kOpenAi) + "\n" + std::string(kTrlImplicit) + "\n" + std::string(kKtoText) + "\n" +
                       R"({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})" +
                       "\n" + R"({"prompt": "p", "chosen": "x"})" + "\n");
  const ValidationReport report = validate_jsonl(path, DataFormat::Auto);
  EXPECT_EQ(report.lines, 5u);
  EXPECT_EQ(report.examples[size_t(DataFormat::Preference)], 2u);
  EXPECT_EQ(report.examples[size_t(DataFormat::Kto)], 1u);
  EXPECT_EQ(report.examples[size_t(DataFormat::Chat)], 1u);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_NE(report.errors[0].find(":5] rejected: missing"), std::string::npos) << report.errors[0];
  EXPECT_EQ(validate_jsonl(path, DataFormat::Preference).error_count, 3u);  // KTO, chat and the broken pair
}

// GRPO's prompts read as chat lines without an answer: named, never detected.
TEST(PreferenceDataset, ValidatePromptsWhenNamed) {
  Files files;
  const std::string path = files.write(
      "prompts.jsonl", std::string(R"({"messages": [{"role": "user", "content": "2 + 2?"}], "answer": 4})") + "\n" +
                           R"({"prompt": "Name a colour:"})" + "\n" +
                           R"({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})" + "\n" +
                           R"({"answer": 4})" + "\n");
  const ValidationReport report = validate_jsonl(path, DataFormat::Prompt);
  EXPECT_EQ(report.examples[size_t(DataFormat::Prompt)], 2u);
  ASSERT_EQ(report.errors.size(), 2u);
  EXPECT_NE(report.errors[0].find(":3]"), std::string::npos) << report.errors[0];  // ends with the answer
  EXPECT_NE(report.errors[1].find(":4]"), std::string::npos) << report.errors[1];
  const ValidationReport as_chat = validate_jsonl(path, DataFormat::Auto);
  EXPECT_EQ(as_chat.examples[size_t(DataFormat::Prompt)], 0u);
  EXPECT_NE(as_chat.errors.at(0).find("no assistant message"), std::string::npos) << as_chat.errors[0];
}

}  // namespace
}  // namespace whet
