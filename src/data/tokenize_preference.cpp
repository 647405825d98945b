// A prompt and an answer are tokenized as the supervised example they make
// (prompt turns untrained, the answer trained) and cut where the loss begins:
// the prompt is then exactly what precedes the answer in training, chat
// template, generation prompt and all, with no second rendering path to drift.
#include "data/tokenize_preference.h"

#include <algorithm>

#include "core/error.h"
#include "data/tokenize_example.h"

namespace whet {
namespace {

struct PromptAndAnswer {
  std::vector<int32_t> prompt, answer;
};

Example as_example(const PreferencePrompt& prompt, const std::string& answer, const std::string& file, size_t line) {
  Example example;
  example.file = file;
  example.line = line;
  if (!prompt.chat()) {
    example.format = DataFormat::Completion;
    example.prompt = prompt.text;
    example.completion = answer;
    return example;
  }
  example.format = DataFormat::Chat;
  example.messages = prompt.messages;
  for (size_t i = 0; i < prompt.messages.size(); ++i)
    if (prompt.messages[i].role == "assistant") example.untrained.push_back(i);  // earlier replies are prompt
  example.messages.push_back({"assistant", answer});
  return example;
}

PromptAndAnswer tokenize_answer(const PreferencePrompt& prompt, const std::string& answer, const std::string& file,
                                size_t line, const Tokenizer& tokenizer, const ChatTemplate& chat_template) {
  const Example example = as_example(prompt, answer, file, line);
  const TokenizedExample t = tokenize_example(example, tokenizer, chat_template, /*train_on_inputs=*/false);
  const auto begin = size_t(std::find(t.loss.begin(), t.loss.end(), true) - t.loss.begin());
  const auto end = t.loss.size() - size_t(std::find(t.loss.rbegin(), t.loss.rend(), true) - t.loss.rbegin());
  WHET_ASSERT(begin < end && std::all_of(t.loss.begin() + ptrdiff_t(begin), t.loss.begin() + ptrdiff_t(end),
                                         [](bool loss) { return loss; }));
  if (begin == 0)
    fail(example.where(), "prompt: empty, and the tokenizer adds no BOS: no token to predict the answer's first from");
  // What the template writes after the answer's end marker (a newline) is not part of the answer.
  return {{t.ids.begin(), t.ids.begin() + ptrdiff_t(begin)},
          {t.ids.begin() + ptrdiff_t(begin), t.ids.begin() + ptrdiff_t(end)}};
}

}  // namespace

TrainingSequence TokenizedPair::chosen_sequence() const { return answer_sequence(prompt, chosen); }

TrainingSequence TokenizedPair::rejected_sequence() const { return answer_sequence(prompt, rejected); }

RewardPair reward_pair(const TokenizedPair& pair) {
  RewardPair r{pair.prompt, pair.prompt, pair.margin};
  r.chosen.insert(r.chosen.end(), pair.chosen.begin(), pair.chosen.end());
  r.rejected.insert(r.rejected.end(), pair.rejected.begin(), pair.rejected.end());
  return r;
}

TrainingSequence TokenizedUnpaired::sequence() const { return answer_sequence(prompt, completion); }

TokenizedPair tokenize_pair(const PreferenceExample& pair, const Tokenizer& tokenizer,
                            const ChatTemplate& chat_template) {
  PromptAndAnswer chosen = tokenize_answer(pair.prompt, pair.chosen, pair.file, pair.line, tokenizer, chat_template);
  PromptAndAnswer rejected =
      tokenize_answer(pair.prompt, pair.rejected, pair.file, pair.line, tokenizer, chat_template);
  if (chosen.prompt != rejected.prompt)
    fail(pair.where(), "chat template {}: the prompt is rendered differently before the two answers",
         chat_template.name());
  return {std::move(chosen.prompt), std::move(chosen.answer), std::move(rejected.answer), pair.margin};
}

TokenizedUnpaired tokenize_unpaired(const UnpairedExample& example, const Tokenizer& tokenizer,
                                    const ChatTemplate& chat_template) {
  PromptAndAnswer t =
      tokenize_answer(example.prompt, example.completion, example.file, example.line, tokenizer, chat_template);
  return {std::move(t.prompt), std::move(t.answer), example.desirable};
}

std::vector<int32_t> tokenize_prompt(const PreferencePrompt& prompt, const std::string& file, size_t line,
                                     const Tokenizer& tokenizer, const ChatTemplate& chat_template) {
  // Cut where an answer begins, as for a pair; the placeholder answer only marks the place.
  return tokenize_answer(prompt, ".", file, line, tokenizer, chat_template).prompt;
}

TrainingSequence answer_sequence(std::span<const int32_t> prompt, std::span<const int32_t> answer) {
  WHET_ASSERT(!prompt.empty() && !answer.empty());
  const size_t tokens = prompt.size() + answer.size();
  auto token = [&](size_t i) { return i < prompt.size() ? prompt[i] : answer[i - prompt.size()]; };
  TrainingSequence s;
  for (size_t i = 0; i + 1 < tokens; ++i) {
    s.ids.push_back(token(i));
    s.targets.push_back(i + 1 >= prompt.size() ? token(i + 1) : -1);
    s.positions.push_back(int32_t(i));
    s.segment_begin.push_back(0);
  }
  return s;
}

LengthFit fit_prompt(std::vector<int32_t>& prompt, size_t longest_answer, int sequence_len, bool drop_long,
                     int32_t bos_id) {
  WHET_ASSERT(sequence_len >= 1);
  const size_t capacity = size_t(sequence_len) + 1;  // tokens: the last one is a target only
  if (prompt.size() + longest_answer <= capacity) return LengthFit::Whole;
  const size_t keep_bos = bos_id >= 0 && !prompt.empty() && prompt.front() == bos_id ? 1 : 0;
  const size_t room = capacity > longest_answer ? capacity - longest_answer : 0;  // prompt tokens that fit
  if (drop_long || room < keep_bos + 1) return LengthFit::Dropped;
  prompt.erase(prompt.begin() + ptrdiff_t(keep_bos), prompt.end() - ptrdiff_t(room - keep_bos));
  return LengthFit::Truncated;
}

}  // namespace whet
