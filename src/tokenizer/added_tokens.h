#pragma once
// Finds added tokens (special tokens such as "<|im_end|>") in raw text before
// pre-tokenization. Like the added vocabulary of Hugging Face `tokenizers`, the
// match that starts first wins, and the longest among those starting there.
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace whet {

class AddedTokenMatcher {
 public:
  AddedTokenMatcher();
  void add(std::string_view text, int32_t id);  // empty texts are ignored
  bool empty() const { return nodes_.size() == 1; }

  // Walks `text` in order, calling on_text(piece) for each non-empty stretch
  // between tokens and on_token(id) for each token found.
  template <typename OnText, typename OnToken>
  void for_each_segment(std::string_view text, OnText&& on_text, OnToken&& on_token) const {
    size_t plain_start = 0;
    for (size_t pos = 0; pos < text.size();) {
      auto [length, id] = longest_match_at(text, pos);
      if (length == 0) {
        ++pos;
        continue;
      }
      if (pos > plain_start) on_text(text.substr(plain_start, pos - plain_start));
      on_token(id);
      pos += length;
      plain_start = pos;
    }
    if (plain_start < text.size()) on_text(text.substr(plain_start));
  }

 private:
  // A byte trie; node 0 is the root.
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // byte, node index
    int32_t token = -1;
  };
  // Length and id of the longest token starting at text[pos]; length 0 if none.
  std::pair<size_t, int32_t> longest_match_at(std::string_view text, size_t pos) const;
  int32_t child(int32_t node, uint8_t byte) const;

  std::vector<Node> nodes_;
};

}  // namespace whet
