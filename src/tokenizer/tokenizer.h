#pragma once
// Byte-level BPE tokenizer, token-for-token identical to Hugging Face
// `tokenizers` for GPT-2-style vocabularies (SmolLM, Llama 3, Qwen 2, GPT-2).
// Special/added tokens are matched before pre-tokenization; the pre-tokenizer
// split is a PCRE2 regex with Unicode classes; merges apply by rank.
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

// Everything that defines a tokenizer; both file formats load into this.
struct TokenizerSpec {
  std::vector<std::string> tokens;  // vocabulary in byte-to-unicode form ("Ġthe")
  std::vector<TokenType> types;     // same length as tokens
  std::vector<std::pair<std::string, std::string>> merges;  // by rank, best first
  // Pre-tokenizer name as GGUF's tokenizer.ggml.pre spells it: "gpt2", "smollm",
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
