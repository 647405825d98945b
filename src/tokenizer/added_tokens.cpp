#include "tokenizer/added_tokens.h"

namespace whet {

AddedTokenMatcher::AddedTokenMatcher() : nodes_(1) {}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t byte) const {
  for (auto [b, index] : nodes_[node].children)
    if (b == byte) return index;
  return -1;
}

void AddedTokenMatcher::add(std::string_view text, int32_t id) {
  if (text.empty()) return;
  int32_t node = 0;
  for (char c : text) {
    int32_t next = child(node, uint8_t(c));
    if (next < 0) {
      next = int32_t(nodes_.size());
      nodes_[node].children.emplace_back(uint8_t(c), next);
      nodes_.emplace_back();
    }
    node = next;
  }
  nodes_[node].token = id;
}

std::pair<size_t, int32_t> AddedTokenMatcher::longest_match_at(std::string_view text, size_t pos) const {
  std::pair<size_t, int32_t> best{0, -1};
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    node = child(node, uint8_t(text[i]));
    if (node < 0) break;
    if (nodes_[node].token >= 0) best = {i + 1 - pos, nodes_[node].token};
  }
  return best;
}

}  // namespace whet
