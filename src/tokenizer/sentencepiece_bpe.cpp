#include "tokenizer/sentencepiece_bpe.h"

#include <algorithm>
#include <queue>
#include <unordered_map>

#include "core/utf8.h"

namespace whet {
namespace {

// A symbol of the text being merged, in a doubly linked list over the starting
// characters' positions; a symbol merged into its left neighbour has length 0.
struct Symbol {
  size_t offset, length;
  int32_t prev, next;  // -1 at the ends
};

// Two neighbouring symbols whose concatenation is a piece; stale once either has
// changed (their lengths no longer add up to `length`).
struct Candidate {
  float score;
  int32_t left, right;
  size_t length;
  // Priority queue order: highest score first, then leftmost.
  bool operator<(const Candidate& other) const {
    return score != other.score ? score < other.score : left > other.left;
  }
};

}  // namespace

std::string byte_token_name(uint8_t byte) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string{'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>'};
}

std::optional<uint8_t> byte_of_token_name(std::string_view token) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>') return std::nullopt;
  int high = digit(token[3]), low = digit(token[4]);
  if (high < 0 || low < 0) return std::nullopt;
  return uint8_t(high * 16 + low);
}

std::string spaces_to_marks(std::string_view text, bool prefix) {
  std::string out;
  out.reserve(text.size() + text.size() / 4 + kSpaceMark.size());
  if (prefix) out += kSpaceMark;
  for (char c : text) {
    if (c == ' ')
      out += kSpaceMark;
    else
      out += c;
  }
  return out;
}

std::string marks_to_spaces(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  for (size_t at = 0; at < piece.size();) {
    if (piece.substr(at, kSpaceMark.size()) == kSpaceMark) {
      out += ' ';
      at += kSpaceMark.size();
    } else {
      out += piece[at++];
    }
  }
  return out;
}

void append_byte_fallback(std::string_view character, const std::vector<int32_t>& byte_ids, int32_t unk_id,
                          std::vector<int32_t>& ids) {
  bool all_bytes = true;
  for (char byte : character) all_bytes = all_bytes && byte_ids[uint8_t(byte)] >= 0;
  if (!all_bytes) {
    if (unk_id >= 0) ids.push_back(unk_id);
    return;
  }
  for (char byte : character) ids.push_back(byte_ids[uint8_t(byte)]);
}

std::vector<std::string_view> characters(std::string_view text) {
  std::vector<std::string_view> out;
  out.reserve(text.size());
  for (const CodePoint& c : code_points(text)) out.push_back(c.bytes);
  return out;
}

MergeList merges_from_scores(const std::vector<std::string>& tokens, const std::vector<bool>& normal,
                             const std::vector<float>& scores) {
  std::unordered_map<std::string_view, size_t> id_by_piece;
  for (size_t id = 0; id < tokens.size(); ++id) id_by_piece.emplace(tokens[id], id);
  struct Split {
    size_t piece, left_bytes;
  };
  std::vector<Split> splits;
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (!normal[id]) continue;
    std::string_view piece = tokens[id];
    for (std::string_view c : characters(piece)) {
      size_t left_bytes = size_t(c.data() - piece.data());
      if (left_bytes == 0) continue;
      if (id_by_piece.count(piece.substr(0, left_bytes)) && id_by_piece.count(piece.substr(left_bytes)))
        splits.push_back({id, left_bytes});
    }
  }
  std::stable_sort(splits.begin(), splits.end(), [&](const Split& a, const Split& b) {
    return scores[a.piece] != scores[b.piece] ? scores[a.piece] > scores[b.piece] : a.piece < b.piece;
  });
  MergeList merges;
  merges.reserve(splits.size());
  for (const Split& split : splits) {
    const std::string& piece = tokens[split.piece];
    merges.emplace_back(piece.substr(0, split.left_bytes), piece.substr(split.left_bytes));
  }
  return merges;
}

std::vector<float> scores_from_merges(const std::vector<std::string>& tokens, const MergeList& merges) {
  std::unordered_map<std::string, size_t> best_rank;
  for (size_t rank = merges.size(); rank-- > 0;) best_rank[merges[rank].first + merges[rank].second] = rank;
  std::vector<float> scores(tokens.size(), -float(merges.size()) - 1);
  for (size_t id = 0; id < tokens.size(); ++id)
    if (auto it = best_rank.find(tokens[id]); it != best_rank.end()) scores[id] = -float(it->second);
  return scores;
}

ScoredPieceMerger::ScoredPieceMerger(Lookup lookup, std::vector<float> scores, std::vector<int32_t> byte_ids,
                                     int32_t unk_id)
    : lookup_(std::move(lookup)), scores_(std::move(scores)), byte_ids_(std::move(byte_ids)), unk_id_(unk_id) {}

void ScoredPieceMerger::encode(std::string_view text, std::vector<int32_t>& ids) const {
  std::vector<Symbol> symbols;
  for (std::string_view c : characters(text)) {
    auto pos = int32_t(symbols.size());
    symbols.push_back({size_t(c.data() - text.data()), c.size(), pos - 1, -1});
    if (pos > 0) symbols[pos - 1].next = pos;
  }
  auto text_of = [&](const Symbol& s) { return text.substr(s.offset, s.length); };

  std::priority_queue<Candidate> queue;
  auto consider = [&](int32_t left) {
    if (left < 0 || symbols[left].next < 0) return;
    const Symbol &l = symbols[left], &r = symbols[l.next];
    int32_t id = lookup_(text.substr(l.offset, l.length + r.length));
    if (id >= 0) queue.push({scores_[id], left, l.next, l.length + r.length});
  };
  for (int32_t pos = 0; pos + 1 < int32_t(symbols.size()); ++pos) consider(pos);

  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol &left = symbols[top.left], &right = symbols[top.right];
    if (left.length == 0 || right.length == 0 || left.length + right.length != top.length) continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.left;
    consider(left.prev);
    consider(top.left);
  }

  for (int32_t pos = symbols.empty() ? -1 : 0; pos >= 0; pos = symbols[pos].next) {
    std::string_view piece = text_of(symbols[pos]);
    if (int32_t id = lookup_(piece); id >= 0) {
      ids.push_back(id);
      continue;
    }
    append_byte_fallback(piece, byte_ids_, unk_id_, ids);  // only a single character can be outside the vocabulary
  }
}

}  // namespace whet
