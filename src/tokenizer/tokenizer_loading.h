#pragma once
// Pieces shared by the Tokenizer constructor and its file loaders and writers
// (tokenizer_gguf.cpp, tokenizer_hf.cpp). Internal to src/tokenizer.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace whet {

struct Tokenizer::SpecSource {
  std::string file;        // what error messages name as the place
  std::string merges_key;  // how that file calls the merge list
  std::string pre_key;     // and the pre-tokenizer setting
  std::string scores_key;  // and the SentencePiece pieces' scores
};

// Throws whet::Error "[file] key: ..." unless `id` is -1 (none) or a token index.
void check_token_id(std::string_view file, std::string_view key, int64_t id, size_t token_count);

// A merge as both formats may spell it, "left right".
std::pair<std::string, std::string> split_merge(std::string_view merge, std::string_view file, std::string_view key,
                                                size_t index);
std::string join_merge(const std::pair<std::string, std::string>& merge);

// The id of the conventional end-of-turn token ("<|im_end|>", "<|eot_id|>",
// "<end_of_turn>", "<|end|>"); -1 when the vocabulary has none of them.
int find_end_of_turn(const std::vector<std::string>& tokens);

}  // namespace whet
