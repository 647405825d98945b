#include "tokenizer/tokenizer.h"

#include <cmath>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_merges.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/sentencepiece_bpe.h"
#include "tokenizer/tokenizer_loading.h"

namespace whet {
namespace {

// Lets maps keyed by std::string be searched with a string_view, without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

// Merge results of recent words. Text repeats a small set of words and merging
// is the costly step of encoding; the cache is emptied when full to bound memory.
class WordCache {
 public:
  bool append_cached(std::string_view word, std::vector<int32_t>& ids) const {
    std::lock_guard lock(mutex_);
    auto it = ids_by_word_.find(word);
    if (it == ids_by_word_.end()) return false;
    ids.insert(ids.end(), it->second.begin(), it->second.end());
    return true;
  }
  void store(std::string_view word, const std::vector<int32_t>& ids) {
    if (word.size() > kMaxWordBytes) return;
    std::lock_guard lock(mutex_);
    if (ids_by_word_.size() >= kMaxWords) ids_by_word_.clear();
    ids_by_word_.emplace(word, ids);
  }

 private:
  static constexpr size_t kMaxWords = 1 << 16;
  static constexpr size_t kMaxWordBytes = 64;
  mutable std::mutex mutex_;
  StringMap<std::vector<int32_t>> ids_by_word_;
};

std::vector<std::string> regexes_of(const TokenizerSpec& spec, std::string_view file, std::string_view pre_key) {
  if (spec.model == TokenizerModel::SentencePieceBpe) return {};  // the text is one word (or split at "▁")
  if (spec.pre == "custom") return spec.pre_regexes;
  auto regexes = pre_tokenizer_regexes(spec.pre);
  if (!regexes)
    fail(file, "{}: pre-tokenizer '{}' is not supported (known: {})", pre_key, spec.pre, known_pre_tokenizer_names());
  return *regexes;
}

bool is_added(TokenType type) { return type == TokenType::Control || type == TokenType::UserDefined; }

// The bytes a token stands for in decoded text.
std::string token_text(const TokenizerSpec& spec, size_t id) {
  const std::string& token = spec.tokens[id];
  // Added tokens are literal text.
  if (is_added(spec.types[id])) return token;
  if (spec.model == TokenizerModel::SentencePieceBpe) {
    if (auto byte = byte_of_token_name(token)) return std::string(1, char(*byte));
    return marks_to_spaces(token);
  }
  // A vocabulary entry that is not spelled in byte characters decodes to its
  // own text, as HF's ByteLevel decoder does.
  return unicode_to_bytes(token).value_or(token);
}

// Whether SentencePiece normalization puts "▁" before a stretch of text.
bool space_prefix_applies(SpacePrefix prefix, std::string_view stretch, bool at_text_start) {
  bool starts_with_space = !stretch.empty() && stretch[0] == ' ';
  switch (prefix) {
    case SpacePrefix::None: return false;
    case SpacePrefix::EveryStretch: return true;
    case SpacePrefix::EveryStretchUnlessSpace: return !starts_with_space;
    case SpacePrefix::FirstStretchUnlessSpace: return at_text_start && !starts_with_space;
  }
  return false;
}

// Words of normalized SentencePiece text for HF Metaspace(split=true): each "▁"
// starts a new word.
void split_before_marks(std::string_view text, std::vector<std::string_view>& words) {
  size_t start = 0;
  for (size_t at = text.find(kSpaceMark, 1); at != std::string_view::npos; at = text.find(kSpaceMark, at + 1)) {
    words.push_back(text.substr(start, at - start));
    start = at;
  }
  if (start < text.size()) words.push_back(text.substr(start));
}

}  // namespace

void check_token_id(std::string_view file, std::string_view key, int64_t id, size_t token_count) {
  if (id < -1 || id >= int64_t(token_count))
    fail(file, "{}: token id {} is out of range (the vocabulary has {} tokens)", key, id, token_count);
}

std::pair<std::string, std::string> split_merge(std::string_view merge, std::string_view file, std::string_view key,
                                                size_t index) {
  size_t space = merge.find(' ');
  if (space == std::string_view::npos || space == 0 || space + 1 == merge.size())
    fail(file, "{}[{}]: '{}' is not a merge of the form 'left right'", key, index, merge);
  return {std::string(merge.substr(0, space)), std::string(merge.substr(space + 1))};
}

std::string join_merge(const std::pair<std::string, std::string>& merge) { return merge.first + " " + merge.second; }

int find_end_of_turn(const std::vector<std::string>& tokens) {
  // The end-of-turn tokens of the chat formats with one of their own (ChatTemplate::end_of_turn):
  // ChatML, Llama 3, Gemma, Phi-3.
  for (std::string_view name : {"<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>"})
    for (size_t id = 0; id < tokens.size(); ++id)
      if (tokens[id] == name) return int(id);
  return -1;
}

struct Tokenizer::Impl {
  TokenizerSpec spec;
  StringMap<int32_t> id_by_token;
  std::vector<int32_t> byte_token_id;  // by byte; -1 where the vocabulary lacks the byte
  BpeMerges merges;
  std::optional<ScoredPieceMerger> scored_merger;  // SentencePiece vocabularies without a merge list
  PreTokenizer pre_tokenizer;
  AddedTokenMatcher control_tokens, user_defined_tokens;
  std::vector<std::string> bytes_by_id;
  mutable WordCache cache;

  Impl(TokenizerSpec spec_in, const SpecSource& source)
      : spec(std::move(spec_in)), pre_tokenizer(regexes_of(spec, source.file, source.pre_key), source.file, source.pre_key) {
    check_shape(source);
    index_tokens();
    resolve_merges(source);
    if (spec.model == TokenizerModel::SentencePieceBpe && spec.merges.empty()) {
      if (spec.scores.empty())
        fail(source.file, "{}: a SentencePiece vocabulary needs merges or scores", source.scores_key);
      scored_merger.emplace([this](std::string_view piece) { return token_id(piece); }, spec.scores, byte_token_id,
                            spec.unk_id);
    }
  }

  void check_shape(const SpecSource& source) const {
    if (spec.tokens.empty()) fail(source.file, "the vocabulary is empty");
    if (spec.types.size() != spec.tokens.size())
      fail(source.file, "{} token types for {} tokens", spec.types.size(), spec.tokens.size());
    if (!spec.scores.empty() && spec.scores.size() != spec.tokens.size())
      fail(source.file, "{}: {} scores for {} tokens", source.scores_key, spec.scores.size(), spec.tokens.size());
    for (size_t id = 0; id < spec.scores.size(); ++id)
      if (!std::isfinite(spec.scores[id]))
        fail(source.file, "{}[{}]: {} is not a finite number", source.scores_key, id, spec.scores[id]);
    for (auto [key, id] : {std::pair{"bos_id", spec.bos_id}, {"eos_id", spec.eos_id}, {"unk_id", spec.unk_id},
                           {"pad_id", spec.pad_id}, {"eot_id", spec.eot_id}})
      check_token_id(source.file, key, id, spec.tokens.size());
  }

  void index_tokens() {
    bytes_by_id.reserve(spec.tokens.size());
    for (size_t id = 0; id < spec.tokens.size(); ++id) {
      const std::string& token = spec.tokens[id];
      id_by_token.emplace(token, int32_t(id));  // a duplicate spelling keeps its first id
      if (spec.types[id] == TokenType::Control) control_tokens.add(token, int32_t(id));
      if (spec.types[id] == TokenType::UserDefined) user_defined_tokens.add(token, int32_t(id));
      bytes_by_id.push_back(token_text(spec, id));
    }
    // SentencePiece spells a byte "<0x41>", byte-level BPE as a character of its own.
    bool sentencepiece = spec.model == TokenizerModel::SentencePieceBpe;
    byte_token_id.resize(256);
    for (int byte = 0; byte < 256; ++byte)
      byte_token_id[byte] = token_id(sentencepiece ? byte_token_name(uint8_t(byte)) : byte_to_unicode(uint8_t(byte)));
  }

  void resolve_merges(const SpecSource& source) {
    for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
      const auto& [left, right] = spec.merges[rank];
      auto require = [&](std::string_view token) {
        int32_t id = token_id(token);
        if (id < 0)
          fail(source.file, "{}[{}] '{} {}': '{}' is not in the vocabulary", source.merges_key, rank, left, right, token);
        return id;
      };
      int32_t left_id = require(left), right_id = require(right);
      merges.add(left_id, right_id, require(left + right));
    }
  }

  int32_t token_id(std::string_view token) const {
    auto it = id_by_token.find(token);
    return it == id_by_token.end() ? -1 : it->second;
  }

  // Text that contains no added tokens; `at_text_start` when it begins the text being encoded.
  void encode_text(std::string_view text, bool at_text_start, std::vector<int32_t>& ids) const {
    std::vector<std::string_view> words;
    if (spec.model == TokenizerModel::SentencePieceBpe) {
      std::string normalized = spaces_to_marks(text, space_prefix_applies(spec.space_prefix, text, at_text_start));
      if (spec.split_at_spaces)
        split_before_marks(normalized, words);
      else
        words.push_back(normalized);
      for (std::string_view word : words) encode_sentencepiece_word(word, ids);
      return;
    }
    pre_tokenizer.split(text, words);
    for (std::string_view word : words) encode_word(word, ids);
  }

  void encode_sentencepiece_word(std::string_view word, std::vector<int32_t>& ids) const {
    if (cache.append_cached(word, ids)) return;
    std::vector<int32_t> symbols;
    if (scored_merger) {
      scored_merger->encode(word, symbols);
    } else {
      // HF BPE with byte_fallback: characters are the starting symbols, merged by rank.
      for (std::string_view character : characters(word)) {
        if (int32_t id = token_id(character); id >= 0)
          symbols.push_back(id);
        else
          append_byte_fallback(character, byte_token_id, spec.unk_id, symbols);
      }
      merges.apply(symbols);
    }
    cache.store(word, symbols);
    ids.insert(ids.end(), symbols.begin(), symbols.end());
  }

  void encode_word(std::string_view word, std::vector<int32_t>& ids) const {
    if (spec.ignore_merges) {
      if (int32_t whole = token_id(bytes_to_unicode(word)); whole >= 0) {
        ids.push_back(whole);
        return;
      }
    }
    if (cache.append_cached(word, ids)) return;
    std::vector<int32_t> symbols;
    symbols.reserve(word.size());
    for (char c : word) {
      // A byte missing from the vocabulary becomes the unknown token, or is dropped without one (as in HF).
      int32_t id = byte_token_id[uint8_t(c)];
      if (id < 0) id = spec.unk_id;
      if (id >= 0) symbols.push_back(id);
    }
    merges.apply(symbols);
    cache.store(word, symbols);
    ids.insert(ids.end(), symbols.begin(), symbols.end());
  }
};

Tokenizer::Tokenizer(TokenizerSpec spec)
    : Tokenizer(std::move(spec), SpecSource{"tokenizer", "merges", "pre", "scores"}) {}
Tokenizer::Tokenizer(TokenizerSpec spec, const SpecSource& source)
    : impl_(std::make_unique<Impl>(std::move(spec), source)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  const Impl& impl = *impl_;
  std::vector<int32_t> ids;
  if (impl.spec.add_bos && impl.spec.bos_id >= 0) ids.push_back(impl.spec.bos_id);
  auto push_token = [&](int32_t id) { ids.push_back(id); };
  auto encode_text = [&](std::string_view stretch) { impl.encode_text(stretch, stretch.data() == text.data(), ids); };
  // As in HF: special tokens split the raw text first, then user-defined added
  // tokens split what lies between them.
  auto encode_without_special = [&](std::string_view piece) {
    impl.user_defined_tokens.for_each_segment(piece, encode_text, push_token);
  };
  if (parse_special)
    impl.control_tokens.for_each_segment(text, encode_without_special, push_token);
  else
    encode_without_special(text);
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string text;
  for (int32_t id : ids) {
    if (skip_special && id >= 0 && id < vocab_size() && impl_->spec.types[id] == TokenType::Control) continue;
    text += token_bytes(id);
  }
  // The "▁" that encoding put before the text is not part of it (HF's Strip
  // decoder, llama.cpp's detokenizer).
  if (impl_->spec.space_prefix != SpacePrefix::None && !text.empty() && text[0] == ' ') text.erase(0, 1);
  return text;
}

// Ids outside the vocabulary (a model may have more embedding rows than tokens)
// decode to nothing, as in HF.
std::string Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return impl_->bytes_by_id[id];
}

int Tokenizer::vocab_size() const { return int(impl_->spec.tokens.size()); }
int Tokenizer::token_id(std::string_view token) const { return impl_->token_id(token); }
const TokenizerSpec& Tokenizer::spec() const { return impl_->spec; }

bool Tokenizer::is_end_of_generation(int32_t id) const {
  return id >= 0 && (id == impl_->spec.eos_id || id == impl_->spec.eot_id);
}

}  // namespace whet
