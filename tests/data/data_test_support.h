#pragma once
// Shared by the data tests: a byte-level BPE tokenizer small enough to build in
// every test (the 256 GPT-2 byte symbols, a few merges, ChatML's special
// tokens) and scratch files. expect_error comes from ../test_support.h.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "../test_support.h"
#include "core/error.h"
#include "data/tokenize_example.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/tokenizer.h"

namespace whet::test {

inline TokenizerSpec tiny_spec() {
  TokenizerSpec spec;
  for (int byte = 0; byte < 256; ++byte) spec.tokens.emplace_back(byte_to_unicode(uint8_t(byte)));
  spec.types.assign(spec.tokens.size(), TokenType::Normal);
  for (const auto& [left, right] : std::vector<std::pair<std::string, std::string>>{
           {"h", "e"}, {"l", "l"}, {"Ġ", "t"}, {"Ġt", "he"}, {"e", "r"}, {"Ġ", "a"}}) {
    spec.merges.emplace_back(left, right);
    spec.tokens.push_back(left + right);
    spec.types.push_back(TokenType::Normal);
  }
  for (const char* special : {"<|im_start|>", "<|im_end|>", "<|endoftext|>"}) {
    spec.tokens.emplace_back(special);
    spec.types.push_back(TokenType::Control);
  }
  spec.eot_id = int(spec.tokens.size()) - 2;
  spec.eos_id = spec.bos_id = int(spec.tokens.size()) - 1;
  return spec;
}

inline const Tokenizer& tiny_tokenizer() {
  static const Tokenizer tokenizer(tiny_spec());
  return tokenizer;
}

// The text of the tokens the model is trained to predict.
inline std::string loss_text(const Tokenizer& tokenizer, const TokenizedExample& example) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < example.ids.size(); ++i)
    if (example.loss[i]) ids.push_back(example.ids[i]);
  return tokenizer.decode(ids);
}

// A fresh directory for the current test (kept apart from the ASan binary's).
inline std::string data_scratch() { return this_test_scratch("data_"); }

inline std::string write_file(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace whet::test
