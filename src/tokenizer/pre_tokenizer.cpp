#include "tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>

#include "core/error.h"

namespace whet {
namespace {

constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct KnownPreTokenizer {
  std::string_view name;
  std::vector<std::string_view> regexes;
};

// Canonical names first: pre_tokenizer_name() answers with the first that fits,
// and GGUF files get that name, so it is llama.cpp's ("gpt-2"; it refuses "gpt2").
const std::array<KnownPreTokenizer, 7>& known_pre_tokenizers() {
  static const std::array<KnownPreTokenizer, 7> known{{
      {"gpt-2", {kGpt2Regex}},
      {"smollm", {kEachDigitRegex, kGpt2Regex}},
      {"llama-bpe", {kLlama3Regex}},
      {"qwen2", {kQwen2Regex}},
      {"default", {kGpt2Regex}},
      {"gpt2", {kGpt2Regex}},
      {"llama3", {kLlama3Regex}},
  }};
  return known;
}

// Oniguruma, which `tokenizers` uses, defines \s as U+0009..U+000D, U+0085 and the
// Unicode separators (Z); PCRE2's \s also takes U+180E. Spelling the Oniguruma set
// out keeps the two in agreement.
constexpr std::string_view kOnigSpaceSet = R"(\t-\r\x{85}\p{Z})";

// Rewrites \s and \S into the explicit set. (\S inside a class cannot be spelled
// as a set and keeps PCRE2's meaning.)
std::string to_pcre2_syntax(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char escaped = pattern[++i];
      if (escaped == 's')
        out += in_class ? std::string(kOnigSpaceSet) : "[" + std::string(kOnigSpaceSet) + "]";
      else if (escaped == 'S' && !in_class)
        out += "[^" + std::string(kOnigSpaceSet) + "]";
      else
        out += {c, escaped};
      continue;
    }
    out += c;
    if (c == '[' && !in_class) {
      in_class = true;
      // A ']' first in a class (after an optional '^') is a literal, not the end.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
    } else if (c == ']') {
      in_class = false;
    }
  }
  return out;
}

size_t next_character_start(std::string_view text, size_t pos) {
  ++pos;
  while (pos < text.size() && (uint8_t(text[pos]) & 0xC0) == 0x80) ++pos;
  return pos;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

}  // namespace

struct PreTokenizer::Regex {
  struct CodeDeleter {
    void operator()(pcre2_code* code) const { pcre2_code_free(code); }
  };
  std::unique_ptr<pcre2_code, CodeDeleter> code;

  // Appends to `out` the pieces of `text`: matches and the stretches between them.
  // An empty match still ends the stretch before it, as in `tokenizers`.
  void split(std::string_view text, pcre2_match_data* match, std::vector<std::string_view>& out) const {
    auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t piece_start = 0;
    for (size_t search_from = 0; search_from <= text.size();) {
      int rc = pcre2_match(code.get(), subject, text.size(), search_from, 0, match, nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) fail("tokenizer", "pre-tokenizer regex failed on the input: {}", pcre2_message(rc));
      const PCRE2_SIZE* bounds = pcre2_get_ovector_pointer(match);
      size_t start = bounds[0], end = bounds[1];
      if (start > piece_start) out.push_back(text.substr(piece_start, start - piece_start));
      if (end > start) out.push_back(text.substr(start, end - start));
      piece_start = end;
      search_from = end > start ? end : next_character_start(text, end);
    }
    if (piece_start < text.size()) out.push_back(text.substr(piece_start));
  }
};

std::optional<std::vector<std::string>> pre_tokenizer_regexes(std::string_view pre) {
  for (const auto& known : known_pre_tokenizers())
    if (known.name == pre) return std::vector<std::string>(known.regexes.begin(), known.regexes.end());
  return std::nullopt;
}

std::optional<std::string> pre_tokenizer_name(const std::vector<std::string>& regexes) {
  for (const auto& known : known_pre_tokenizers())
    if (std::equal(regexes.begin(), regexes.end(), known.regexes.begin(), known.regexes.end()))
      return std::string(known.name);
  return std::nullopt;
}

std::string known_pre_tokenizer_names() {
  std::string names;
  for (const auto& known : known_pre_tokenizers()) names += (names.empty() ? "" : ", ") + std::string(known.name);
  return names;
}

PreTokenizer::PreTokenizer(const std::vector<std::string>& regexes, std::string_view where, std::string_view key) {
  // UCP gives \p{..}, \w and friends their Unicode meaning; MATCH_INVALID_UTF lets
  // arbitrary bytes through (they simply never match); MULTILINE follows
  // Oniguruma's Ruby syntax, where ^ and $ are line anchors.
  const uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE;
  for (const std::string& regex : regexes) {
    std::string pattern = to_pcre2_syntax(regex);
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                                     &error_code, &error_offset, nullptr);
    if (!code) fail(where, "{}: regex '{}' does not compile: {}", key, regex, pcre2_message(error_code));
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional speed-up; the interpreter runs otherwise
    regexes_.push_back(Regex{std::unique_ptr<pcre2_code, Regex::CodeDeleter>(code)});
  }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& pieces) const {
  if (text.empty()) return;
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> match(pcre2_match_data_create(1, nullptr));
  std::vector<std::string_view> current{text}, next;
  for (const Regex& regex : regexes_) {
    next.clear();
    for (std::string_view piece : current) regex.split(piece, match.get(), next);
    current.swap(next);
  }
  pieces.insert(pieces.end(), current.begin(), current.end());
}

}  // namespace whet
