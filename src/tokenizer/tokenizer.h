#pragma once
// BPE tokenizer for the two kinds of vocabulary LLMs ship:
// - byte-level BPE (GPT-2 style: SmolLM, Llama 3, Qwen 2), token-for-token
//   identical to Hugging Face `tokenizers`: a PCRE2 regex pre-tokenizer split,
//   bytes spelled as characters, merges by rank;
// - SentencePiece-style BPE with byte fallback (Gemma, Llama 2, Mistral): spaces
//   spelled "▁", characters merged by piece score (GGUF, as llama.cpp does) or by
//   rank (tokenizer.json, as `tokenizers` does), bytes as "<0xNN>" tokens for
//   characters outside the vocabulary (sentencepiece_bpe.h).
// In both, special/added tokens are matched in the raw text first.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace whet {

class GgufFile;
class GgufWriter;

// Token attributes, mirroring GGUF tokenizer.ggml.token_type codes.
enum class TokenType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

enum class TokenizerModel {
  ByteLevelBpe,      // GGUF tokenizer.ggml.model "gpt2"; tokenizer.json BPE without byte_fallback
  SentencePieceBpe,  // GGUF "llama"; tokenizer.json BPE with byte_fallback
};

// Where SentencePiece-style normalization puts a "▁" before the text. A stretch
// is text between special/added tokens.
enum class SpacePrefix {
  None,
  EveryStretch,             // llama.cpp add_space_prefix; HF Prepend("▁") normalizer
  EveryStretchUnlessSpace,  // HF Metaspace prepend_scheme "always": not before a stretch that starts with ' '
  FirstStretchUnlessSpace,  // HF Metaspace prepend_scheme "first": only at the start of the text
};

// Everything that defines a tokenizer; both file formats load into this.
struct TokenizerSpec {
  TokenizerModel model = TokenizerModel::ByteLevelBpe;
  // Byte-level: in byte-to-unicode form ("Ġthe"); SentencePiece: UTF-8 with "▁" for spaces.
  std::vector<std::string> tokens;
  std::vector<TokenType> types;  // same length as tokens
  // By rank, best first. A SentencePiece vocabulary without merges (GGUF) merges by score.
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<float> scores;  // SentencePiece pieces' scores (GGUF tokenizer.ggml.scores); may be empty
  SpacePrefix space_prefix = SpacePrefix::None;  // SentencePiece only
  bool split_at_spaces = false;  // SentencePiece only: words start at each "▁" (HF Metaspace split)
  // Byte-level only. Pre-tokenizer name as GGUF's tokenizer.ggml.pre spells it: "gpt2", "smollm",
  // "llama-bpe" (Llama 3), "qwen2", "default". Determines the split regexes.
  // "custom" means pre_regexes (HF syntax), for tokenizer.json files whose
  // pre-tokenizer matches none of the known names; GGUF cannot carry it.
  std::string pre = "gpt2";
  std::vector<std::string> pre_regexes;
  // A word that is itself in the vocabulary is taken whole, without merges
  // (HF BPE's ignore_merges; Llama 3 sets it).
  bool ignore_merges = false;
  int bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1;
  int eot_id = -1;  // end of turn (e.g. <|im_end|>, <|eot_id|>); -1 if none
  bool add_bos = false;
  std::string chat_template;  // Jinja source, may be empty
};

class Tokenizer {
 public:
  explicit Tokenizer(TokenizerSpec spec);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // tokenizer.json (+ tokenizer_config.json beside it, if present, for the chat
  // template, bos/eos and add_bos). Throws whet::Error naming file and key.
  static Tokenizer from_hf_dir(const std::string& dir);
  static Tokenizer from_gguf(const GgufFile& gguf);

  // With parse_special, special/added tokens in the text become their ids;
  // without it they are tokenized as plain text (for untrusted user content).
  // add_bos follows the spec.
  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;
  // Raw bytes of one token (for streaming; may be a partial UTF-8 sequence).
  std::string token_bytes(int32_t id) const;

  int vocab_size() const;
  int token_id(std::string_view token) const;  // -1 if absent
  const TokenizerSpec& spec() const;
  bool is_end_of_generation(int32_t id) const;  // eos or eot

  // Writers for `whet convert`.
  void write_hf_files(const std::string& dir) const;  // tokenizer.json + tokenizer_config.json
  void add_gguf_metadata(GgufWriter& writer) const;   // tokenizer.ggml.*

 private:
  struct Impl;
  struct SpecSource;  // file and keys a spec came from, for error messages
  Tokenizer(TokenizerSpec spec, const SpecSource& source);
  std::unique_ptr<Impl> impl_;
};

}  // namespace whet
