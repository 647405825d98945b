#include "prepare/report.h"

#include <fmt/format.h>

#include <map>

namespace whet {
namespace {

constexpr size_t kListed = 50;  // leaks and dropped records shown; the trace has all
constexpr size_t kHistogramBins = 12;

std::string listed(const std::map<std::string, size_t>& counts) {
  std::string out;
  for (const auto& [what, n] : counts) out += fmt::format("{}{}: {}", out.empty() ? "" : "; ", what, n);
  return out.empty() ? "-" : out;
}

}  // namespace

Document pipeline_report(const PipelineConfig& config, const PipelineResult& result) {
  Document doc{"Data pipeline report", {}};
  doc.blocks.push_back(Paragraph{fmt::format("Config {}, seed {}, {} source(s); every record's fate is in trace.jsonl.",
                                             config.path, config.seed, config.sources.size())});

  doc.blocks.push_back(Heading{"Stages"});
  Table stages{{"stage", "in", "out", "dropped", "changed", "added", "found"}, {}};
  for (const StageReport& s : result.ledger.stages())
    stages.rows.push_back({s.stage, fmt::format("{}", s.in), fmt::format("{}", s.out), listed(s.dropped),
                           listed(s.changed), listed(s.added), listed(s.counts)});
  doc.blocks.push_back(stages);

  doc.blocks.push_back(Heading{"Outputs"});
  Table outputs{{"file", "records", "bytes", "xxh3_64"}, {}};
  for (const OutputFile& o : result.outputs)
    outputs.rows.push_back({o.name, fmt::format("{}", o.records), fmt::format("{}", o.bytes), fmt::format("{:016x}", o.hash)});
  doc.blocks.push_back(outputs);

  const std::string unit = result.token_lengths ? "tokens" : "characters";
  for (size_t s = 0; s < result.splits.size(); ++s) {
    const SplitSummary& split = result.splits[s];
    if (split.lengths.empty()) continue;
    doc.blocks.push_back(Heading{fmt::format("Split: {} ({} records)", kSplitNames[s], split.lengths.size())});
    doc.blocks.push_back(
        length_histogram(fmt::format("Length in {} ({})", unit, kSplitNames[s]), split.lengths, kHistogramBins));
    if (!split.labels.empty()) {
      BarChart balance{fmt::format("Label balance ({})", kSplitNames[s]), {}, {}};
      for (const auto& [label, n] : split.labels) {
        balance.labels.push_back(label.empty() ? "(none)" : label);
        balance.values.push_back(double(n));
      }
      doc.blocks.push_back(balance);
    }
  }

  doc.blocks.push_back(Heading{fmt::format("Leaks ({})", result.leaks.size())});
  if (result.leaks.empty()) doc.blocks.push_back(Paragraph{"No record shares enough n-grams with another side."});
  Table leaks{{"record", "split", "against", "overlap", "closest match"}, {}};
  for (size_t i = 0; i < result.leaks.size() && i < kListed; ++i) {
    const Leak& l = result.leaks[i];
    leaks.rows.push_back({l.where, l.split, l.against, fmt::format("{:.0f}%", l.overlap * 100), l.match});
  }
  doc.blocks.push_back(leaks);

  const auto& dropped = result.ledger.dropped();
  doc.blocks.push_back(Heading{fmt::format("Dropped records ({})", dropped.size())});
  if (dropped.size() > kListed)
    doc.blocks.push_back(Paragraph{fmt::format("The first {}; trace.jsonl lists every one.", kListed)});
  Table drops{{"record", "stage", "reason"}, {}};
  for (size_t i = 0; i < dropped.size() && i < kListed; ++i)
    drops.rows.push_back({dropped[i].where, dropped[i].stage, dropped[i].reason});
  doc.blocks.push_back(drops);
  return doc;
}

}  // namespace whet
