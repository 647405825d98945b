#include "prepare/profile.h"

#include <utf8proc.h>
#include <xxhash.h>

#include <algorithm>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/utf8.h"
#include "prepare/dedup.h"
#include "prepare/pii.h"
#include "prepare/validate.h"

namespace whet {
namespace {

constexpr size_t kErrorsKept = 10;
constexpr size_t kHistogramBins = 12;
constexpr uint64_t kSeed = 42;  // of the MinHash permutations

struct ScriptRange {
  utf8proc_int32_t first, last;
  const char* name;
};
constexpr ScriptRange kScripts[] = {
    {0x0041, 0x024F, "Latin"},    {0x1E00, 0x1EFF, "Latin"},      {0x0370, 0x03FF, "Greek"},
    {0x0400, 0x052F, "Cyrillic"}, {0x0530, 0x058F, "Armenian"},   {0x0590, 0x05FF, "Hebrew"},
    {0x0600, 0x06FF, "Arabic"},   {0x0750, 0x077F, "Arabic"},     {0x0900, 0x097F, "Devanagari"},
    {0x0E00, 0x0E7F, "Thai"},     {0x1100, 0x11FF, "Hangul"},     {0xAC00, 0xD7AF, "Hangul"},
    {0x3040, 0x30FF, "Kana"},     {0x3400, 0x4DBF, "Han"},        {0x4E00, 0x9FFF, "Han"},
};

// The label as counted: cut on a character boundary, and past kMaxLabels values into kOtherLabels.
void count_label(std::map<std::string, size_t>& labels, const std::string& label) {
  std::string key = label;
  if (key.size() > kMaxLabelBytes) key = std::string(utf8_prefix(label, kMaxLabelBytes)) + "...";
  const auto it = labels.find(key);
  if (it != labels.end()) {
    ++it->second;
  } else {
    ++labels[labels.size() < kMaxLabels ? key : kOtherLabels];
  }
}

template <typename Map>
nlohmann::ordered_json as_json(const Map& m) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

}  // namespace

std::string dominant_script(std::string_view text) {
  std::map<std::string, size_t> letters;
  for (const CodePoint& c : code_points(text)) {
    const utf8proc_category_t category = utf8proc_category(c.value);
    if (category < UTF8PROC_CATEGORY_LU || category > UTF8PROC_CATEGORY_LO) continue;
    const char* script = "other";
    for (const ScriptRange& r : kScripts)
      if (c.value >= r.first && c.value <= r.last) script = r.name;
    ++letters[script];
  }
  std::string best = "none";
  size_t most = 0;
  for (const auto& [script, n] : letters)
    if (n > most) most = n, best = script;
  return best;
}

DataProfile profile_source(const PipelineConfig& config, const TokenCounter* counter) {
  DataProfile p;
  p.path = config.sources.front().path;
  p.type = config.sources.front().type;
  p.token_lengths = counter != nullptr;
  PiiScanner scanner(PiiConfig{});
  std::vector<size_t> hits(scanner.type_count());
  // Per record only a length, a hash and a 128-slot signature are kept: about 0.6 KiB, whatever its text's size.
  const DedupConfig dedup;
  std::vector<std::vector<uint32_t>> signatures;
  std::unordered_set<uint64_t> seen;
  size_t unlabelled = 0;
  auto on_record = [&](Record&& r) {
    ++p.lines;
    ++p.records;
    ++p.formats[size_t(r.example.format)];
    if (const std::string& label = label_of(r, config.label_field); label.empty()) {
      ++unlabelled;
    } else {
      count_label(p.labels, label);
    }
    const std::string text = record_text(r);
    p.lengths.push_back(counter ? counter->count(r) : record_content(r).size());
    if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
      ++p.ascii_only;
    ++p.scripts[dominant_script(text)];
    std::vector<size_t> before = hits;
    for (std::string* field : text_fields(r)) scanner.redact(*field, hits);
    p.records_with_pii += before != hits;
    if (!seen.insert(XXH3_64bits(text.data(), text.size())).second) {
      ++p.exact_duplicates;
    } else {
      signatures.push_back(text_signature(text, dedup, kSeed));
    }
  };
  auto on_error = [&](const std::string& error) {
    ++p.lines;
    if (p.error_count++ < kErrorsKept) p.errors.push_back(error);
  };
  auto on_blank = [&] {
    ++p.lines;
    ++p.blank;
  };
  scan_source(config, {on_record, on_error, on_blank});
  // Unlabelled data has no label balance; in labelled data, a missing label is one more bar.
  if (unlabelled && !p.labels.empty()) p.labels["(none)"] = unlabelled;
  const NearDuplicates near = cluster_signatures(std::move(signatures), dedup);
  for (size_t i = 0; i < near.cluster.size(); ++i) p.near_duplicates += near.cluster[i] != i;
  for (size_t t = 0; t < scanner.type_count(); ++t)
    if (hits[t]) p.pii[scanner.type_name(t)] = hits[t];
  return p;
}

Document profile_document(const DataProfile& p) {
  Document doc{"Data profile: " + p.path, {}};
  Table counts{{"what", "count"}, {}};
  auto row = [&](std::string what, size_t n) { counts.rows.push_back({std::move(what), fmt::format("{}", n)}); };
  if (p.type == SourceType::Jsonl) {
    row("lines", p.lines);
    row("blank lines", p.blank);
  } else {
    counts.rows.push_back({"read as", std::string(source_type_name(p.type))});
  }
  row("malformed lines", p.error_count);
  row("records", p.records);
  for (size_t f = 1; f < kDataFormatCount; ++f)
    if (p.formats[f]) row(fmt::format("  {}", data_format_name(DataFormat(f))), p.formats[f]);
  row("exact duplicates", p.exact_duplicates);
  row("near duplicates (Jaccard >= 0.8)", p.near_duplicates);
  row("ASCII-only records", p.ascii_only);
  row("records with personal data", p.records_with_pii);
  for (const auto& [type, n] : p.pii) row("  " + type + " hits", n);
  doc.blocks.push_back(counts);
  if (!p.errors.empty()) {
    doc.blocks.push_back(Heading{"Malformed lines"});
    std::string text;
    for (const std::string& e : p.errors) text += e + "\n";
    if (p.error_count > p.errors.size()) text += fmt::format("... and {} more\n", p.error_count - p.errors.size());
    doc.blocks.push_back(Paragraph{text});
  }
  doc.blocks.push_back(length_histogram(p.token_lengths ? "Length in tokens" : "Length in characters", p.lengths, kHistogramBins));
  BarChart scripts{"Records by script", {}, {}};
  for (const auto& [s, n] : p.scripts) scripts.labels.push_back(s), scripts.values.push_back(double(n));
  doc.blocks.push_back(scripts);
  if (!p.labels.empty()) {
    BarChart labels{"Label balance", {}, {}};
    for (const auto& [l, n] : p.labels) labels.labels.push_back(l), labels.values.push_back(double(n));
    doc.blocks.push_back(labels);
  }
  return doc;
}

std::string profile_json(const DataProfile& p) {
  nlohmann::ordered_json formats = nlohmann::ordered_json::object();
  for (size_t f = 1; f < kDataFormatCount; ++f) formats[std::string(data_format_name(DataFormat(f)))] = p.formats[f];
  nlohmann::ordered_json out = {{"path", p.path}};
  // A JSONL profile keeps the keys it always had; the other readers count records, not lines.
  if (p.type == SourceType::Jsonl) {
    out["lines"] = p.lines;
    out["blank_lines"] = p.blank;
  } else {
    out["type"] = source_type_name(p.type);
  }
  out.update({{"malformed_lines", p.error_count},
              {"errors", p.errors},
              {"records", p.records},
              {"formats", formats},
              {"length_unit", p.token_lengths ? "tokens" : "characters"},
              {"lengths", p.lengths},
              {"labels", as_json(p.labels)},
              {"exact_duplicates", p.exact_duplicates},
              {"near_duplicates", p.near_duplicates},
              {"ascii_only", p.ascii_only},
              {"scripts", as_json(p.scripts)},
              {"pii", as_json(p.pii)},
              {"records_with_pii", p.records_with_pii}});
  return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace whet
