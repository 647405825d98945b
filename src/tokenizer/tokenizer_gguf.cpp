// Tokenizer <-> GGUF metadata (tokenizer.ggml.*), as llama.cpp writes it for
// byte-level BPE vocabularies (model "gpt2": tokens and merges) and
// SentencePiece-style ones (model "llama": tokens, scores, byte tokens "<0xNN>").
#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/sentencepiece_bpe.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_loading.h"

namespace whet {
namespace {

constexpr const char* kModelKey = "tokenizer.ggml.model";
constexpr const char* kPreKey = "tokenizer.ggml.pre";
constexpr const char* kTokensKey = "tokenizer.ggml.tokens";
constexpr const char* kTypesKey = "tokenizer.ggml.token_type";
constexpr const char* kMergesKey = "tokenizer.ggml.merges";
constexpr const char* kScoresKey = "tokenizer.ggml.scores";
constexpr const char* kAddSpacePrefixKey = "tokenizer.ggml.add_space_prefix";
constexpr const char* kAddBosKey = "tokenizer.ggml.add_bos_token";
constexpr const char* kChatTemplateKey = "tokenizer.chat_template";

// Each special id of the spec and the key that holds it.
constexpr std::pair<const char*, int TokenizerSpec::*> kIdKeys[] = {
    {"tokenizer.ggml.bos_token_id", &TokenizerSpec::bos_id},
    {"tokenizer.ggml.eos_token_id", &TokenizerSpec::eos_id},
    {"tokenizer.ggml.unknown_token_id", &TokenizerSpec::unk_id},
    {"tokenizer.ggml.padding_token_id", &TokenizerSpec::pad_id},
    {"tokenizer.ggml.eot_token_id", &TokenizerSpec::eot_id},
};

std::vector<TokenType> read_token_types(const GgufFile& gguf, size_t token_count) {
  if (!gguf.has(kTypesKey)) return std::vector<TokenType>(token_count, TokenType::Normal);
  const std::vector<int64_t>& codes = gguf.get_ints(kTypesKey);
  if (codes.size() != token_count)
    fail(gguf.path(), "{}: {} entries for {} tokens", kTypesKey, codes.size(), token_count);
  std::vector<TokenType> types;
  types.reserve(codes.size());
  for (size_t id = 0; id < codes.size(); ++id) {
    // 0 is llama.cpp's "undefined", which it treats as normal.
    if (codes[id] < 0 || codes[id] > int64_t(TokenType::Byte))
      fail(gguf.path(), "{}[{}]: {} is not a token type (1..6)", kTypesKey, id, codes[id]);
    types.push_back(codes[id] == 0 ? TokenType::Normal : TokenType(codes[id]));
  }
  return types;
}

void read_byte_level_settings(const GgufFile& gguf, TokenizerSpec& spec) {
  const std::vector<std::string>& merges = gguf.get_strings(kMergesKey);
  spec.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) spec.merges.push_back(split_merge(merges[i], gguf.path(), kMergesKey, i));
  spec.pre = gguf.get_string(kPreKey, "default");
  // llama.cpp derives HF's ignore_merges from the pre-tokenizer: only Llama 3 sets it.
  spec.ignore_merges = spec.pre == "llama-bpe" || spec.pre == "llama3";
}

void read_sentencepiece_settings(const GgufFile& gguf, TokenizerSpec& spec) {
  const std::vector<double>& scores = gguf.get_floats(kScoresKey);
  if (scores.size() != spec.tokens.size())
    fail(gguf.path(), "{}: {} scores for {} tokens", kScoresKey, scores.size(), spec.tokens.size());
  spec.scores.assign(scores.begin(), scores.end());
  for (size_t id = 0; id < spec.tokens.size(); ++id)
    if (spec.types[id] == TokenType::Byte && !byte_of_token_name(spec.tokens[id]))
      fail(gguf.path(), "{}[{}]: '{}' has type byte ({}) but is not of the form <0xNN>", kTokensKey, id,
           spec.tokens[id], kTypesKey);
  spec.space_prefix = gguf.get_bool(kAddSpacePrefixKey, true) ? SpacePrefix::EveryStretch : SpacePrefix::None;
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const GgufFile& gguf) {
  const std::string& file = gguf.path();
  const std::string& model = gguf.get_string(kModelKey);
  if (model != "gpt2" && model != "llama")
    fail(file, "{} is '{}': only byte-level BPE ('gpt2') and SentencePiece BPE ('llama') tokenizers are supported",
         kModelKey, model);

  TokenizerSpec spec;
  spec.model = model == "llama" ? TokenizerModel::SentencePieceBpe : TokenizerModel::ByteLevelBpe;
  spec.tokens = gguf.get_strings(kTokensKey);
  spec.types = read_token_types(gguf, spec.tokens.size());
  if (spec.model == TokenizerModel::SentencePieceBpe)
    read_sentencepiece_settings(gguf, spec);
  else
    read_byte_level_settings(gguf, spec);
  for (auto [key, field] : kIdKeys) {
    int64_t id = gguf.get_int(key, -1);
    check_token_id(file, key, id, spec.tokens.size());
    spec.*field = int(id);
  }
  if (spec.eot_id < 0) spec.eot_id = find_end_of_turn(spec.tokens);
  // llama.cpp's defaults when the key is absent.
  spec.add_bos = gguf.get_bool(kAddBosKey, spec.model == TokenizerModel::SentencePieceBpe);
  spec.chat_template = gguf.get_string(kChatTemplateKey, "");
  return Tokenizer(std::move(spec), SpecSource{file, kMergesKey, kPreKey, kScoresKey});
}

namespace {

void write_byte_level_settings(const TokenizerSpec& s, GgufWriter& writer) {
  if (s.pre == "custom")
    fail("tokenizer", "the pre-tokenizer of this tokenizer is a custom regex list, which {} cannot name", kPreKey);
  std::vector<std::string> merges;
  merges.reserve(s.merges.size());
  for (const auto& merge : s.merges) merges.push_back(join_merge(merge));
  writer.set(kModelKey, GgufValue::make_string("gpt2"));
  writer.set(kPreKey, GgufValue::make_string(s.pre));
  writer.set(kMergesKey, GgufValue::make_strings(std::move(merges)));
}

// llama.cpp orders merges by score, so a vocabulary read with a merge list
// (tokenizer.json) gets scores that imply the same order. Only whether any "▁"
// prefix is added survives: GGUF cannot say "unless the text starts with a space".
void write_sentencepiece_settings(const TokenizerSpec& s, GgufWriter& writer) {
  std::vector<float> scores = s.scores.empty() ? scores_from_merges(s.tokens, s.merges) : s.scores;
  writer.set(kModelKey, GgufValue::make_string("llama"));
  writer.set(kScoresKey, GgufValue::make_f32s(std::vector<double>(scores.begin(), scores.end())));
  writer.set(kAddSpacePrefixKey, GgufValue::make_bool(s.space_prefix != SpacePrefix::None));
}

// tokenizer.json marks no byte tokens; llama.cpp needs their type to decode them.
int64_t gguf_type_code(const TokenizerSpec& s, size_t id) {
  bool byte_piece = s.model == TokenizerModel::SentencePieceBpe && s.types[id] == TokenType::Normal &&
                    byte_of_token_name(s.tokens[id]);
  return int64_t(byte_piece ? TokenType::Byte : s.types[id]);
}

}  // namespace

void Tokenizer::add_gguf_metadata(GgufWriter& writer) const {
  const TokenizerSpec& s = spec();
  if (s.model == TokenizerModel::SentencePieceBpe)
    write_sentencepiece_settings(s, writer);
  else
    write_byte_level_settings(s, writer);
  std::vector<int64_t> types;
  types.reserve(s.types.size());
  for (size_t id = 0; id < s.types.size(); ++id) types.push_back(gguf_type_code(s, id));
  writer.set(kTokensKey, GgufValue::make_strings(s.tokens));
  writer.set(kTypesKey, GgufValue::make_i32s(std::move(types)));
  for (auto [key, field] : kIdKeys)
    if (s.*field >= 0) writer.set(key, GgufValue::make_u32(uint32_t(s.*field)));
  writer.set(kAddBosKey, GgufValue::make_bool(s.add_bos));
  if (!s.chat_template.empty()) writer.set(kChatTemplateKey, GgufValue::make_string(s.chat_template));
}

}  // namespace whet
