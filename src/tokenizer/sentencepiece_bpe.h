#pragma once
// The pieces of SentencePiece-style BPE (Gemma, Llama 2, Mistral) that byte-level
// BPE lacks: spaces spelled "▁" (U+2581) instead of a byte mapping, characters
// rather than bytes as the starting symbols, bytes as "<0xNN>" tokens for
// characters outside the vocabulary (byte fallback), and, for GGUF vocabularies,
// merges ordered by the score of the merged piece instead of a merge list.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace whet {

inline constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // "▁"

// "<0x41>" for 0x41, as SentencePiece names its byte pieces.
std::string byte_token_name(uint8_t byte);
// The byte a piece of that exact form stands for; nullopt for any other text.
std::optional<uint8_t> byte_of_token_name(std::string_view token);

// `text` with every ' ' replaced by "▁", after a "▁" prefix when `prefix`.
std::string spaces_to_marks(std::string_view text, bool prefix);
// The inverse for decoding: "▁" back to ' '.
std::string marks_to_spaces(std::string_view piece);

// The UTF-8 characters of `text` as views (a byte that begins no valid sequence
// is a character of its own).
std::vector<std::string_view> characters(std::string_view text);

// The tokens of a character outside the vocabulary: its bytes' tokens
// (byte_ids[b], -1 where missing) when the vocabulary has all of them, else the
// unknown token, or nothing without one (as in HF `tokenizers`).
void append_byte_fallback(std::string_view character, const std::vector<int32_t>& byte_ids, int32_t unk_id,
                          std::vector<int32_t>& ids);

// Conversions between the two ways of ordering merges, for writing a vocabulary
// to the other file format. They give the same ids as long as no two pieces
// that merges make share a score (true of real SentencePiece vocabularies).
using MergeList = std::vector<std::pair<std::string, std::string>>;
// For tokenizer.json: every split of a normal piece into two pieces of the
// vocabulary, ranked by the piece's score, highest first (then by id).
MergeList merges_from_scores(const std::vector<std::string>& tokens, const std::vector<bool>& normal,
                             const std::vector<float>& scores);
// For GGUF: a piece the merge of rank r makes scores -r (its best rank); every
// other piece scores below all of them.
std::vector<float> scores_from_merges(const std::vector<std::string>& tokens, const MergeList& merges);

// SentencePiece's BPE over scored pieces, as SentencePiece and llama.cpp apply it:
// start from the characters of the text, repeatedly merge the adjacent pair
// whose concatenation is a piece with the highest score (the leftmost such pair
// on a tie), and stop when no adjacent pair forms a piece. A final symbol that is
// not a piece (a character outside the vocabulary) becomes its bytes' tokens.
class ScoredPieceMerger {
 public:
  using Lookup = std::function<int32_t(std::string_view)>;  // id of a piece, -1 if none
  // `byte_ids[b]` is the token of byte b (-1 if missing, when `unk_id` stands in).
  ScoredPieceMerger(Lookup lookup, std::vector<float> scores, std::vector<int32_t> byte_ids, int32_t unk_id);

  // Appends the ids of `text` (already normalized: spaces as "▁").
  void encode(std::string_view text, std::vector<int32_t>& ids) const;

 private:
  Lookup lookup_;
  std::vector<float> scores_;
  std::vector<int32_t> byte_ids_;
  int32_t unk_id_;
};

}  // namespace whet
