#pragma once
// Splits text into the words that BPE merges within. A pre-tokenizer is a list of
// regexes in the syntax of Hugging Face `tokenizers` (Oniguruma); each one splits
// every piece the previous one produced, keeping both the matches and the text
// between them (HF's "Isolated" split). Digits(individual_digits) is the regex
// \p{N}, ByteLevel(use_regex) the GPT-2 regex.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace whet {

inline constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
inline constexpr std::string_view kEachDigitRegex = R"(\p{N})";
inline constexpr std::string_view kDigitRunRegex = R"(\p{N}+)";

// The regexes of a GGUF tokenizer.ggml.pre name ("gpt2", "smollm", "llama-bpe", ...);
// nullopt for names Whet does not know.
std::optional<std::vector<std::string>> pre_tokenizer_regexes(std::string_view pre);
// The canonical name for a list of regexes; nullopt when no known name has exactly these.
std::optional<std::string> pre_tokenizer_name(const std::vector<std::string>& regexes);
std::string known_pre_tokenizer_names();  // for error messages

class PreTokenizer {
 public:
  // Compiles each regex once (JIT where available). A regex that does not compile
  // is a whet::Error "[where] key: ...".
  PreTokenizer(const std::vector<std::string>& regexes, std::string_view where, std::string_view key);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Appends the pieces of `text` to `pieces`, in order; they are views into `text`
  // and together cover it exactly. Invalid UTF-8 never matches a regex, so such
  // bytes end up in pieces of their own rather than failing.
  void split(std::string_view text, std::vector<std::string_view>& pieces) const;

 private:
  struct Regex;
  std::vector<Regex> regexes_;
};

}  // namespace whet
