#include "prepare/chunker.h"

#include <utf8proc.h>

#include <algorithm>
#include <iterator>

#include "core/error.h"
#include "core/utf8.h"

namespace whet {
namespace {

struct Word {
  size_t begin = 0, end = 0;  // bytes of the text
  size_t line = 0;            // 1-based
  bool starts_paragraph = false;
};

bool is_space(utf8proc_int32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' ||
         (cp > 0x7F && utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS);
}

std::vector<Word> split_words(std::string_view text) {
  std::vector<Word> words;
  size_t line = 1, line_breaks_since_word = 0;
  bool in_word = false;
  for (const CodePoint& c : code_points(text)) {
    if (is_space(c.value)) {
      if (in_word) words.back().end = c.offset;
      in_word = false;
      if (c.value == '\n') ++line, ++line_breaks_since_word;
    } else if (!in_word) {
      // Two line breaks with only white space between them make a blank line.
      words.push_back({c.offset, text.size(), line, words.empty() || line_breaks_since_word >= 2});
      in_word = true;
      line_breaks_since_word = 0;
    }
  }
  return words;
}

// Bytes of the quote or bracket that closes the word, 0 if none.
size_t closing_mark_length(std::string_view word) {
  static constexpr std::string_view kClosers[] = {"\"", "'", ")", "]",  // and ” ’ » 」 』
                                                  "\u201D", "\u2019", "\u00BB", "\u300D", "\u300F"};
  for (std::string_view closer : kClosers)
    if (word.ends_with(closer)) return closer.size();
  return 0;
}

// "end." and "end!)" close a sentence; quotes and brackets after the mark belong to it.
bool ends_sentence(std::string_view word) {
  static constexpr std::string_view kSentenceEnds[] = {".", "!", "?", "\u3002", "\uFF01", "\uFF1F"};
  while (const size_t closer = closing_mark_length(word)) word.remove_suffix(closer);
  return std::any_of(std::begin(kSentenceEnds), std::end(kSentenceEnds),
                     [&](std::string_view mark) { return word.ends_with(mark); });
}

class ChunkWriter {
 public:
  ChunkWriter(std::string_view text, const std::string& document_name, const std::vector<Word>& words)
      : text_(text), document_name_(document_name), words_(words) {}

  // Words [first, end) as one chunk.
  void add(size_t first, size_t end) {
    const Word& from = words_[first];
    const std::string_view span = text_.substr(from.begin, words_[end - 1].end - from.begin);
    chunks_.push_back({document_name_ + "#" + std::to_string(chunks_.size() + 1), std::string(span), from.line});
  }

  std::vector<Chunk> take() { return std::move(chunks_); }

 private:
  std::string_view text_;
  const std::string& document_name_;
  const std::vector<Word>& words_;
  std::vector<Chunk> chunks_;
};

// Pieces of the paragraph of words [first, end), which holds more than options.words.
void cut_paragraph(const std::vector<Word>& words, std::string_view text, size_t first, size_t end,
                   const ChunkingOptions& options, ChunkWriter& writer) {
  const size_t stride = options.words - options.overlap_words;
  // A sentence end this early would make many pieces that differ by a few
  // words, and near-copies crowd out other passages when retrieved.
  const size_t least_progress = (stride + 1) / 2;
  size_t start = first;
  while (end - start > options.words) {
    size_t cut = start + options.words;
    for (size_t candidate = cut; candidate - options.overlap_words - start >= least_progress; --candidate) {
      const Word& last = words[candidate - 1];
      if (ends_sentence(text.substr(last.begin, last.end - last.begin))) {
        cut = candidate;
        break;
      }
    }
    writer.add(start, cut);
    start = cut - options.overlap_words;
  }
  writer.add(start, end);
}

}  // namespace

std::vector<Chunk> chunk_document(std::string_view text, const std::string& document_name,
                                  const ChunkingOptions& options) {
  if (options.words < 1) fail("synthesize.chunk_words", "must be at least 1, got {}", options.words);
  if (options.overlap_words >= options.words)
    fail("synthesize.overlap_words", "must be less than synthesize.chunk_words ({}), got {}", options.words,
         options.overlap_words);

  const std::vector<Word> words = split_words(text);
  ChunkWriter writer(text, document_name, words);
  // Whole paragraphs waiting to be written together: words [packed_first, packed_end).
  size_t packed_first = 0, packed_end = 0;
  auto write_packed = [&] {
    if (packed_end > packed_first) writer.add(packed_first, packed_end);
    packed_first = packed_end;
  };
  for (size_t first = 0; first < words.size();) {
    size_t end = first + 1;
    while (end < words.size() && !words[end].starts_paragraph) ++end;
    if (end - first > options.words) {
      write_packed();
      cut_paragraph(words, text, first, end, options, writer);
      packed_first = end;
    } else if (end - packed_first > options.words) {
      write_packed();
    }
    packed_end = end;
    first = end;
  }
  write_packed();
  return writer.take();
}

}  // namespace whet
