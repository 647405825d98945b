#pragma once
// Preference lines -> tokens for the losses that compare answers: the prompt as
// generation starts from it (the chat template's rendering with the generation
// prompt, or [BOS] raw text), and each answer with the marker that ends it (the
// end of turn, or EOS after raw text). An answer's sequence has targets on the
// answer's tokens only, so the sum of its token cross-entropies is
// -log π(answer | prompt). Tokens are made by tokenize_example, so a pair's
// tokens are those supervised training gives the same conversation.
#include <cstdint>
#include <span>
#include <vector>

#include "data/preference_example.h"
#include "data/sequences.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whet {

struct TokenizedPair {
  std::vector<int32_t> prompt;            // the same before both answers; at least one token
  std::vector<int32_t> chosen, rejected;  // each answer and its end marker
  double margin = 0;                      // the line's "margin" (reward models)

  TrainingSequence chosen_sequence() const;
  TrainingSequence rejected_sequence() const;
};

// A pair as a reward model reads it: each answer whole after its prompt (its
// end marker the last token, where the score is read), and the line's margin.
struct RewardPair {
  std::vector<int32_t> chosen, rejected;  // prompt + answer (and its end marker)
  double margin = 0;
};
RewardPair reward_pair(const TokenizedPair& pair);

struct TokenizedUnpaired {
  std::vector<int32_t> prompt, completion;
  bool desirable = true;

  TrainingSequence sequence() const;
};

// Throws whet::Error "[file:line] ..." when the conversation cannot be rendered,
// when a raw-text prompt gives no token (empty, and the tokenizer adds no BOS)
// to predict the answer's first token from, or when the template renders the
// prompt differently before the two answers.
TokenizedPair tokenize_pair(const PreferenceExample& pair, const Tokenizer& tokenizer,
                            const ChatTemplate& chat_template);
TokenizedUnpaired tokenize_unpaired(const UnpairedExample& example, const Tokenizer& tokenizer,
                                    const ChatTemplate& chat_template);

// The prompt alone, as generation starts from it (online RL samples the answers):
// the same tokens tokenize_pair gives a pair's prompt.
std::vector<int32_t> tokenize_prompt(const PreferencePrompt& prompt, const std::string& file, size_t line,
                                     const Tokenizer& tokenizer, const ChatTemplate& chat_template);

// prompt + answer as one causal-LM sequence (TrainingSequence's layout, one
// example: prompt.size() + answer.size() - 1 positions from 0, one segment)
// whose targets are the answer's tokens and -1 before them. Also for KTO's
// mismatched prompt/answer pairs. The prompt and the answer are not empty.
TrainingSequence answer_sequence(std::span<const int32_t> prompt, std::span<const int32_t> answer);

// sequence_len bounds a pair as it bounds an example: the prompt and its
// longest answer together at most sequence_len + 1 tokens (sequence_len
// positions). The answers are what the loss compares, so they stay whole; the
// prompt loses its first tokens (after a leading BOS, which stays), the way a
// long conversation loses its oldest turns.
enum class LengthFit { Whole, Truncated, Dropped };
// Whole: untouched. Truncated: `prompt` cut from its left. Dropped: too long
// and drop_long, or the answer leaves no room for a prompt token.
LengthFit fit_prompt(std::vector<int32_t>& prompt, size_t longest_answer, int sequence_len, bool drop_long,
                     int32_t bos_id);

}  // namespace whet
