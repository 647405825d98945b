// Chunking documents for retrieval: paragraphs packed whole, long paragraphs
// cut at sentence ends with overlap, ids and lines, UTF-8 kept intact, and the
// invariants on generated documents.
#include <gtest/gtest.h>

#include <random>

#include <fmt/format.h>

#include "../test_support.h"
#include "prepare/chunker.h"
#include "prepare/text_encoding.h"

namespace whet {
namespace {

std::vector<std::string> texts(const std::vector<Chunk>& chunks) {
  std::vector<std::string> out;
  for (const Chunk& chunk : chunks) out.push_back(chunk.text);
  return out;
}

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  size_t at = 0;
  while ((at = text.find_first_not_of(" \n", at)) != std::string_view::npos) {
    const size_t end = std::min(text.find_first_of(" \n", at), text.size());
    words.emplace_back(text.substr(at, end - at));
    at = end;
  }
  return words;
}

TEST(Chunker, ParagraphsArePackedWholeUpToTheWordLimit) {
  // Paragraphs of 3, 2 and 3 words: the first two fill a chunk of 5, the third does not fit beside them.
  const std::string text = "one two three\n\nfour five\n\nsix seven\neight\n";
  const auto chunks = chunk_document(text, "doc", {.words = 5, .overlap_words = 2});
  EXPECT_EQ(texts(chunks), (std::vector<std::string>{"one two three\n\nfour five", "six seven\neight"}));
  // One line break joins lines into a paragraph; a line of only white space separates paragraphs.
  EXPECT_EQ(texts(chunk_document("a b\nc d\n \t\ne f", "doc", {.words = 4, .overlap_words = 0})),
            (std::vector<std::string>{"a b\nc d", "e f"}));
  EXPECT_EQ(texts(chunk_document("a b\r\n\r\nc d", "doc", {.words = 2, .overlap_words = 1})),
            (std::vector<std::string>{"a b", "c d"}));
}

TEST(Chunker, LongParagraphIsCutAtSentenceEndsWithOverlap) {
  // 16 words, 8 a chunk, 2 overlapping. The first window ends its last sentence
  // after "e."; the second (from "d") holds no sentence end late enough, so it
  // is cut at 8 words; the rest fits.
  const std::string text = "A b c d e. F g h i j k l m n o p.";
  EXPECT_EQ(texts(chunk_document(text, "doc", {.words = 8, .overlap_words = 2})),
            (std::vector<std::string>{"A b c d e.", "d e. F g h i j k", "j k l m n o p."}));
  // A sentence end in the first words would advance by one word: cut at the limit instead.
  EXPECT_EQ(texts(chunk_document("A. b c d e f g h i j", "doc", {.words = 8, .overlap_words = 2})),
            (std::vector<std::string>{"A. b c d e f g h", "g h i j"}));
  // Closing quotes and brackets after the mark still end the sentence; "?", "!" and "。" do too.
  EXPECT_EQ(texts(chunk_document("a \"b.\" c d e", "doc", {.words = 4, .overlap_words = 0})),
            (std::vector<std::string>{"a \"b.\"", "c d e"}));
  EXPECT_EQ(texts(chunk_document("a b? c d! e 東京です。 f g", "doc", {.words = 3, .overlap_words = 0})),
            (std::vector<std::string>{"a b?", "c d!", "e 東京です。", "f g"}));
}

TEST(Chunker, WholeParagraphsAroundACutOneAreNotRepeated) {
  const std::string text = "intro words\n\none two three four five six\n\noutro";
  EXPECT_EQ(texts(chunk_document(text, "doc", {.words = 4, .overlap_words = 1})),
            (std::vector<std::string>{"intro words", "one two three four", "four five six", "outro"}));
}

TEST(Chunker, IdsCountFromOneAndFirstLinesPointIntoTheDocument) {
  const std::string text = "\n\nTitle\n\nw1 w2\nw3 w4\nw5 w6\n";
  const auto chunks = chunk_document(text, "notes/a.md", {.words = 2, .overlap_words = 0});
  ASSERT_EQ(chunks.size(), 4u);
  const std::vector<std::pair<std::string, size_t>> expected = {
      {"notes/a.md#1", 3}, {"notes/a.md#2", 5}, {"notes/a.md#3", 6}, {"notes/a.md#4", 7}};
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].id, expected[i].first);
    EXPECT_EQ(chunks[i].first_line, expected[i].second) << chunks[i].text;
  }
  EXPECT_EQ(chunks[0].text, "Title");
  // The same text gives the same chunks, ids included.
  const auto again = chunk_document(text, "notes/a.md", {.words = 2, .overlap_words = 0});
  for (size_t i = 0; i < chunks.size(); ++i) EXPECT_EQ(again[i].id + again[i].text, chunks[i].id + chunks[i].text);
}

TEST(Chunker, Utf8TextIsKeptByteForByte) {
  const std::string text =
      "Ça va très bien. Noël à Zürich! Ἐν ἀρχῇ ἦν ὁ λόγος.\n\n東京 は 日本 の 首都 です。\u3000大阪\u00A0も 大きい。";
  const auto chunks = chunk_document(text, "doc", {.words = 4, .overlap_words = 1});
  ASSERT_FALSE(chunks.empty());
  for (const Chunk& chunk : chunks) {
    EXPECT_FALSE(invalid_utf8_at(chunk.text)) << chunk.text;
    EXPECT_NE(text.find(chunk.text), std::string::npos) << chunk.text;
  }
  EXPECT_EQ(chunks.front().text, "Ça va très bien.");
  // Ideographic and no-break spaces separate words as ASCII spaces do.
  EXPECT_EQ(chunks.back().text, "です。\u3000大阪\u00A0も 大きい。");
}

TEST(Chunker, AWordLongerThanAChunkStaysWhole) {
  // Text without spaces is one word: it cannot be cut at a word boundary, so it is a chunk of its own.
  std::string long_word;
  for (int i = 0; i < 500; ++i) long_word += "語é";
  const std::string text = "before it " + long_word + " after it";
  const auto chunks = chunk_document(text, "doc", {.words = 1, .overlap_words = 0});
  EXPECT_EQ(texts(chunks), (std::vector<std::string>{"before", "it", long_word, "after", "it"}));
}

TEST(Chunker, TextWithoutWordsGivesNoChunks) {
  EXPECT_TRUE(chunk_document("", "doc", {}).empty());
  EXPECT_TRUE(chunk_document(" \n\n\t \u3000\u00A0\r\n", "doc", {}).empty());
}

TEST(Chunker, BytesThatAreNotUtf8TravelInsideTheirWord) {
  EXPECT_EQ(texts(chunk_document("ab\xff cd \xc3", "doc", {.words = 1, .overlap_words = 0})),
            (std::vector<std::string>{"ab\xff", "cd", "\xc3"}));
}

TEST(Chunker, BadOptionsNameTheirKey) {
  using test::expect_error;
  expect_error([] { chunk_document("a", "doc", {.words = 0, .overlap_words = 0}); }, {"synthesize.chunk_words"});
  expect_error([] { chunk_document("a", "doc", {.words = 4, .overlap_words = 4}); }, {"synthesize.overlap_words"});
  expect_error([] { chunk_document("", "doc", {.words = 2, .overlap_words = 9}); }, {"synthesize.overlap_words"});
}

// Generated documents of distinct words (w0, w1, ...), so each chunk's words
// are a range of word indices. Every chunk holds 1 to `words` words; the ranges
// follow each other in order, overlapping by overlap_words only inside a
// paragraph that was cut, and together cover every word.
TEST(Chunker, GeneratedDocumentsAreCoveredInOrder) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 200; ++round) {
    const size_t words = 1 + rng() % 12, overlap = rng() % words;
    std::string text;
    std::vector<size_t> paragraph_of;  // per word index
    size_t paragraph = 0;
    const size_t total = rng() % 80;
    for (size_t i = 0; i < total; ++i) {
      if (i > 0) {
        const int gap = int(rng() % 10);
        if (gap == 0) text += "\n\n", ++paragraph;
        else if (gap == 1) text += "\n \n\n", ++paragraph;
        else text += gap == 2 ? "\n" : " ";
      }
      text += fmt::format("w{}{}", i, rng() % 4 == 0 ? "." : "");
      paragraph_of.push_back(paragraph);
    }
    const auto chunks = chunk_document(text, "g", {.words = words, .overlap_words = overlap});
    size_t next = 0;  // the first word no chunk has covered yet
    for (const Chunk& chunk : chunks) {
      const std::vector<std::string> chunk_words = words_of(chunk.text);
      ASSERT_GE(chunk_words.size(), 1u);
      ASSERT_LE(chunk_words.size(), words);
      EXPECT_NE(text.find(chunk.text), std::string::npos);
      const size_t first = std::stoul(chunk_words.front().substr(1));
      if (first < next) {
        EXPECT_EQ(next - first, overlap) << text;
        EXPECT_EQ(paragraph_of.at(first), paragraph_of.at(next)) << text;
      } else {
        EXPECT_EQ(first, next) << text;
      }
      next = first + chunk_words.size();
    }
    EXPECT_EQ(next, total) << text;
  }
}

}  // namespace
}  // namespace whet
