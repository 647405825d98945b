#pragma once
// Chunking for retrieval-assisted synthesis: a document becomes passages small
// enough to put several into a prompt, each cut where the text itself breaks
// (paragraphs, then sentences) so a retrieved passage reads as a whole.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace whet {

struct Chunk {
  std::string id;    // "<document name>#<n>", n counted from 1 within the document: stable across runs
  std::string text;
  size_t first_line = 0;  // 1-based line of the document where the chunk starts (for the report)
};

struct ChunkingOptions {
  size_t words = 200;         // synthesize.chunk_words: most words per chunk
  size_t overlap_words = 40;  // synthesize.overlap_words: words shared by consecutive pieces of a cut paragraph
};

// Words are runs of anything but white space (ASCII or Unicode Zs), so text
// without spaces (Chinese, Japanese, a URL) is one word however long it is,
// and is never cut. Paragraphs (separated by a line holding only white space)
// are packed whole into a chunk while it stays within options.words; a longer
// paragraph goes into chunks of its own, cut after the last sentence end (a
// word ending in . ! ? or 。！？, closing quotes and brackets aside) that still
// advances at least half as far as a cut at the limit would, else after
// options.words words; each of its pieces repeats the last overlap_words words
// of the one before. A chunk's text is the document's own bytes from its
// first word to its last, so valid UTF-8 stays valid. Throws whet::Error
// naming the key for words == 0 or overlap_words >= words.
std::vector<Chunk> chunk_document(std::string_view text, const std::string& document_name,
                                  const ChunkingOptions& options);

}  // namespace whet
