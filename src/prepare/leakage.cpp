#include "prepare/leakage.h"

#include <utf8proc.h>
#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <span>
#include <unordered_map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/parallel_for.h"
#include "core/utf8.h"
#include "data/line_reader.h"
#include "prepare/stages.h"

namespace whet {
namespace {

bool is_word_character(utf8proc_int32_t cp) {
  if (cp < 0x80) return std::isalnum(int(cp));
  const utf8proc_category_t c = utf8proc_category(cp);
  return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) || (c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME) ||
         (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

// Records of a split, read back from the spool.
LeakSide side_of(std::string name, std::span<const RecordKey> keys, const Spool& spool) {
  LeakSide side{std::move(name), std::vector<std::string>(keys.size()), {}};
  parallel_for(keys.size(), [&](size_t i) { side.texts[i] = record_content(spool.read(keys[i])); });
  for (const RecordKey& key : keys) side.wheres.push_back(spool.where(key));
  return side;
}

constexpr size_t kLeakBatch = 4096;  // records compared at a time, so a split need not fit in memory

// Evaluation files are JSONL in any training format; lines that do not parse
// are counted, not fatal, since the file is only read for its text.
LeakSide read_eval_file(const std::string& name, const std::string& path, Ledger& ledger) {
  LeakSide side{name, {}, {}};
  LineReader lines(path);
  std::string line;
  bool too_long = false;
  while (lines.next(line, too_long)) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    try {
      if (too_long) fail(name, "line too long");
      Record r;
      r.example = parse_example(line, DataFormat::Auto, name, lines.line_number());
      side.texts.push_back(record_content(r));
      side.wheres.push_back(r.example.where());
    } catch (const Error&) {
      ++ledger.current().counts["unreadable lines in " + name];
    }
  }
  return side;
}

}  // namespace

std::vector<uint64_t> word_ngrams(std::string_view text, int n) {
  // Each word is hashed once, lower-cased; an n-gram is the hash of its words'
  // hashes, so no n-gram is ever spelled out.
  std::vector<uint64_t> words;
  std::string word;
  auto end_word = [&] {
    if (word.empty()) return;
    words.push_back(XXH3_64bits(word.data(), word.size()));
    word.clear();
  };
  for (const CodePoint& c : code_points(text)) {
    if (!is_word_character(c.value)) {
      end_word();
    } else if (c.value < 0x80) {
      word += char(std::tolower(int(c.value)));
    } else {
      append_utf8(word, utf8proc_tolower(c.value));
    }
  }
  end_word();
  std::vector<uint64_t> out;
  if (words.empty()) return out;
  const size_t size = std::min(words.size(), size_t(n));
  for (size_t i = 0; i + size <= words.size(); ++i) out.push_back(XXH3_64bits(&words[i], size * sizeof(uint64_t)));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void NgramIndex::add(const LeakSide& part) {
  for (size_t i = 0; i < part.texts.size(); ++i)
    for (uint64_t g : word_ngrams(part.texts[i], n_)) index_.emplace(g, uint32_t(wheres_.size() + i));
  wheres_.insert(wheres_.end(), part.wheres.begin(), part.wheres.end());
}

std::vector<Leak> NgramIndex::find(const LeakSide& side, double threshold) const {
  std::vector<std::optional<Leak>> found(side.texts.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t i = 0; i < side.texts.size(); ++i) {
    const std::vector<uint64_t> grams = word_ngrams(side.texts[i], n_);
    if (grams.empty()) continue;
    size_t shared = 0;
    std::unordered_map<uint32_t, size_t> by_record;
    for (uint64_t g : grams) {
      auto [begin, end] = index_.equal_range(g);
      if (begin == end) continue;
      ++shared;
      for (auto it = begin; it != end; ++it) ++by_record[it->second];
    }
    const double overlap = double(shared) / double(grams.size());
    if (shared == 0 || overlap < threshold) continue;
    std::pair<size_t, uint32_t> best{0, 0};  // most shared, then earliest record
    for (const auto& [record, count] : by_record)
      if (count > best.first || (count == best.first && record < best.second)) best = {count, record};
    found[i] = Leak{side.name, side.wheres[i], name_, wheres_[best.second], overlap};
  }
  std::vector<Leak> leaks;
  for (std::optional<Leak>& leak : found)
    if (leak) leaks.push_back(std::move(*leak));
  return leaks;
}

std::vector<Leak> find_leaks(const LeakSide& side, const LeakSide& other, int n, double threshold) {
  NgramIndex index(other.name, n);
  index.add(other);
  return index.find(side, threshold);
}

std::vector<Leak> leakage_stage(SplitKeys& parts, const Spool& spool, const LeakageConfig& config,
                                const PipelineConfig& pipeline, Ledger& ledger) {
  ledger.begin(stage_name(Stage::Leakage), parts[0].size() + parts[1].size() + parts[2].size());
  // The held-out splits (read back a batch at a time) and the evaluation files
  // are indexed; each split's records then stream past them a batch at a time.
  auto batch_of = [&](size_t s, size_t begin) {
    const size_t n = std::min(parts[s].size() - begin, kLeakBatch);
    return side_of(std::string(kSplitNames[s]), std::span(parts[s]).subspan(begin, n), spool);
  };
  struct Other {
    NgramIndex index;
    bool empty;
  };
  std::vector<Other> others;
  for (size_t s : {size_t(Split::Validation), size_t(Split::Test)}) {
    NgramIndex index(std::string(kSplitNames[s]), config.ngram);
    for (size_t begin = 0; begin < parts[s].size(); begin += kLeakBatch) index.add(batch_of(s, begin));
    others.push_back({std::move(index), parts[s].empty()});
  }
  for (const std::string& file : config.eval_files) {
    const LeakSide eval = read_eval_file(file, resolve_path(pipeline, file), ledger);
    NgramIndex index(file, config.ngram);
    index.add(eval);
    others.push_back({std::move(index), eval.texts.empty()});
  }

  // The comparisons, in the order their leaks are listed: train against
  // validation and test, validation against test, every split against each
  // evaluation file.
  struct Check {
    size_t split, other;
    std::vector<Leak> leaks;
  };
  std::vector<Check> checks{{0, 0, {}}, {0, 1, {}}, {1, 1, {}}};
  for (size_t e = 0; e < config.eval_files.size(); ++e)
    for (size_t s = 0; s < parts.size(); ++s) checks.push_back({s, 2 + e, {}});
  for (size_t s = 0; s < parts.size(); ++s) {
    for (size_t begin = 0; begin < parts[s].size(); begin += kLeakBatch) {
      const LeakSide side = batch_of(s, begin);
      for (Check& check : checks) {
        if (check.split != s || others[check.other].empty) continue;
        std::vector<Leak> found = others[check.other].index.find(side, config.threshold);
        check.leaks.insert(check.leaks.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
      }
    }
  }
  std::vector<Leak> leaks;
  for (Check& check : checks) {
    if (parts[check.split].empty() || others[check.other].empty) continue;
    ledger.current().counts[std::string(kSplitNames[check.split]) + " leaking into " + others[check.other].index.name()] +=
        check.leaks.size();
    leaks.insert(leaks.end(), check.leaks.begin(), check.leaks.end());
  }
  if (config.action == "drop") {
    for (size_t s = 0; s < parts.size(); ++s) {
      std::unordered_map<std::string, const Leak*> leaking;  // where -> first leak found for it
      for (const Leak& leak : leaks)
        if (leak.split == kSplitNames[s]) leaking.emplace(leak.where, &leak);
      std::vector<Reason> reasons(parts[s].size());
      for (size_t i = 0; i < parts[s].size() && !leaking.empty(); ++i) {
        const auto it = leaking.find(spool.where(parts[s][i]));
        if (it == leaking.end()) continue;
        reasons[i] = {"leaks into " + it->second->against,
                      fmt::format("{:.0f}% of its {}-grams, most shared with {}", it->second->overlap * 100, config.ngram,
                                  it->second->match)};
      }
      drop_marked(parts[s], spool, ledger, reasons);
    }
  }
  ledger.end(parts[0].size() + parts[1].size() + parts[2].size());
  return leaks;
}

}  // namespace whet
