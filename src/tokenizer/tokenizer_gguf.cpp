// Tokenizer <-> GGUF metadata (tokenizer.ggml.*), as llama.cpp writes it for
// byte-level BPE vocabularies ("gpt2" model).
#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_loading.h"

namespace whet {
namespace {

constexpr const char* kModelKey = "tokenizer.ggml.model";
constexpr const char* kPreKey = "tokenizer.ggml.pre";
constexpr const char* kTokensKey = "tokenizer.ggml.tokens";
constexpr const char* kTypesKey = "tokenizer.ggml.token_type";
constexpr const char* kMergesKey = "tokenizer.ggml.merges";
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

}  // namespace

Tokenizer Tokenizer::from_gguf(const GgufFile& gguf) {
  const std::string& file = gguf.path();
  const std::string& model = gguf.get_string(kModelKey);
  if (model != "gpt2")
    fail(file, "{} is '{}': only byte-level BPE tokenizers ('gpt2') are supported", kModelKey, model);

  TokenizerSpec spec;
  spec.tokens = gguf.get_strings(kTokensKey);
  spec.types = read_token_types(gguf, spec.tokens.size());
  const std::vector<std::string>& merges = gguf.get_strings(kMergesKey);
  spec.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) spec.merges.push_back(split_merge(merges[i], file, kMergesKey, i));
  spec.pre = gguf.get_string(kPreKey, "default");
  // llama.cpp derives HF's ignore_merges from the pre-tokenizer: only Llama 3 sets it.
  spec.ignore_merges = spec.pre == "llama-bpe" || spec.pre == "llama3";
  for (auto [key, field] : kIdKeys) {
    int64_t id = gguf.get_int(key, -1);
    check_token_id(file, key, id, spec.tokens.size());
    spec.*field = int(id);
  }
  if (spec.eot_id < 0) spec.eot_id = find_end_of_turn(spec.tokens);
  spec.add_bos = gguf.get_bool(kAddBosKey, false);
  spec.chat_template = gguf.get_string(kChatTemplateKey, "");
  return Tokenizer(std::move(spec), SpecSource{file, kMergesKey, kPreKey});
}

void Tokenizer::add_gguf_metadata(GgufWriter& writer) const {
  const TokenizerSpec& s = spec();
  if (s.pre == "custom")
    fail("tokenizer", "the pre-tokenizer of this tokenizer is a custom regex list, which {} cannot name", kPreKey);
  std::vector<int64_t> types;
  types.reserve(s.types.size());
  for (TokenType type : s.types) types.push_back(int64_t(type));
  std::vector<std::string> merges;
  merges.reserve(s.merges.size());
  for (const auto& merge : s.merges) merges.push_back(join_merge(merge));

  writer.set(kModelKey, GgufValue::make_string("gpt2"));
  writer.set(kPreKey, GgufValue::make_string(s.pre));
  writer.set(kTokensKey, GgufValue::make_strings(s.tokens));
  writer.set(kTypesKey, GgufValue::make_i32s(std::move(types)));
  writer.set(kMergesKey, GgufValue::make_strings(std::move(merges)));
  for (auto [key, field] : kIdKeys)
    if (s.*field >= 0) writer.set(key, GgufValue::make_u32(uint32_t(s.*field)));
  writer.set(kAddBosKey, GgufValue::make_bool(s.add_bos));
  if (!s.chat_template.empty()) writer.set(kChatTemplateKey, GgufValue::make_string(s.chat_template));
}

}  // namespace whet
