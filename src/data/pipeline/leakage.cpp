#include "data/pipeline/leakage.h"

#include <utf8proc.h>
#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include <fmt/format.h>

#include "core/error.h"
#include "data/pipeline/line_reader.h"

namespace whet {
namespace {

bool is_word_character(utf8proc_int32_t cp) {
  if (cp < 0x80) return std::isalnum(int(cp));
  const utf8proc_category_t c = utf8proc_category(cp);
  return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) || (c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME) ||
         (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

LeakSide side_of(std::string name, const std::vector<Record>& records) {
  LeakSide side{std::move(name), {}, {}};
  for (const Record& r : records) {
    side.texts.push_back(record_content(r));
    side.wheres.push_back(r.example.where());
  }
  return side;
}

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
  std::vector<std::string> words(1);
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  for (size_t at = 0; at < text.size();) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t len = utf8proc_iterate(bytes + at, utf8proc_ssize_t(text.size() - at), &cp);
    if (len < 0) cp = ' ', len = 1;
    at += size_t(len);
    if (is_word_character(cp)) {
      utf8proc_uint8_t encoded[4];
      words.back().append(reinterpret_cast<const char*>(encoded), size_t(utf8proc_encode_char(utf8proc_tolower(cp), encoded)));
    } else if (!words.back().empty()) {
      words.emplace_back();
    }
  }
  if (words.back().empty()) words.pop_back();
  std::vector<uint64_t> out;
  if (words.empty()) return out;
  const size_t size = std::min(words.size(), size_t(n));
  std::string gram;
  for (size_t i = 0; i + size <= words.size(); ++i) {
    gram.clear();
    for (size_t j = i; j < i + size; ++j) (gram += words[j]) += ' ';
    out.push_back(XXH3_64bits(gram.data(), gram.size()));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<Leak> find_leaks(const LeakSide& side, const LeakSide& other, int n, double threshold) {
  std::unordered_multimap<uint64_t, uint32_t> index;  // n-gram -> record of `other` holding it
  for (size_t i = 0; i < other.texts.size(); ++i)
    for (uint64_t g : word_ngrams(other.texts[i], n)) index.emplace(g, uint32_t(i));
  std::vector<Leak> leaks;
  for (size_t i = 0; i < side.texts.size(); ++i) {
    const std::vector<uint64_t> grams = word_ngrams(side.texts[i], n);
    if (grams.empty()) continue;
    size_t shared = 0;
    std::unordered_map<uint32_t, size_t> by_record;
    for (uint64_t g : grams) {
      auto [begin, end] = index.equal_range(g);
      if (begin == end) continue;
      ++shared;
      for (auto it = begin; it != end; ++it) ++by_record[it->second];
    }
    const double overlap = double(shared) / double(grams.size());
    if (shared == 0 || overlap < threshold) continue;
    std::pair<size_t, uint32_t> best{0, 0};  // most shared, then earliest record
    for (const auto& [record, count] : by_record)
      if (count > best.first || (count == best.first && record < best.second)) best = {count, record};
    leaks.push_back({side.name, side.wheres[i], other.name, other.wheres[best.second], overlap});
  }
  return leaks;
}

std::vector<Leak> leakage_stage(SplitRecords& splits, const LeakageConfig& config, const PipelineConfig& pipeline,
                                Ledger& ledger) {
  auto& parts = splits.parts;
  ledger.begin("leakage", parts[0].size() + parts[1].size() + parts[2].size());
  std::vector<LeakSide> sides;
  for (size_t s = 0; s < parts.size(); ++s) sides.push_back(side_of(std::string(kSplitNames[s]), parts[s]));
  std::vector<Leak> leaks;
  auto check = [&](const LeakSide& side, const LeakSide& other) {
    if (side.texts.empty() || other.texts.empty()) return;
    std::vector<Leak> found = find_leaks(side, other, config.ngram, config.threshold);
    ledger.current().counts[side.name + " leaking into " + other.name] += found.size();
    leaks.insert(leaks.end(), found.begin(), found.end());
  };
  check(sides[0], sides[1]);
  check(sides[0], sides[2]);
  check(sides[1], sides[2]);
  for (const std::string& file : config.eval_files) {
    const LeakSide eval = read_eval_file(file, resolve_path(pipeline, file), ledger);
    for (const LeakSide& side : sides) check(side, eval);
  }
  if (config.action == "drop") {
    for (size_t s = 0; s < parts.size(); ++s) {
      std::unordered_map<std::string, const Leak*> leaking;  // where -> first leak found for it
      for (const Leak& leak : leaks)
        if (leak.split == kSplitNames[s]) leaking.emplace(leak.where, &leak);
      drop_if(parts[s], ledger, [&](const Record& r) -> std::optional<Reason> {
        const auto it = leaking.find(r.example.where());
        if (it == leaking.end()) return std::nullopt;
        return Reason{"leaks into " + it->second->against,
                      fmt::format("{:.0f}% of its {}-grams, most shared with {}", it->second->overlap * 100,
                                  config.ngram, it->second->match)};
      });
    }
  }
  ledger.end(parts[0].size() + parts[1].size() + parts[2].size());
  return leaks;
}

}  // namespace whet
