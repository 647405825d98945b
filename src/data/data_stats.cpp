// The run summary is read by people deciding whether their data is right:
// one paragraph, counts first, then the first few skipped lines with reasons.
#include "data/data_stats.h"

#include <fmt/format.h>

namespace whet {
namespace {

constexpr size_t kSkippedShown = 5;

std::string describe(std::string_view split, const SequenceStats& s) {
  return fmt::format(
      "{}: {} examples -> {} sequences, {} tokens ({} with loss); {} truncated, {} dropped as too long, "
      "{} dropped with nothing to train on.",
      split, s.examples, s.sequences, s.tokens, s.loss_tokens, s.truncated, s.dropped_long, s.dropped_no_loss);
}

}  // namespace

void LineAccount::skip(const std::string& file, size_t line, const Error& error) {
  std::string_view reason = error.what();
  const std::string prefix = fmt::format("[{}:{}] ", file, line);
  if (reason.starts_with(prefix)) reason.remove_prefix(prefix.size());
  skipped.push_back({file, line, std::string(reason)});
}

std::string LineAccount::skipped_summary() const {
  std::string out;
  for (size_t i = 0; i < skipped.size() && i < kSkippedShown; ++i)
    out += fmt::format(" Skipped {}:{}: {}.", skipped[i].file, skipped[i].line, skipped[i].reason);
  if (skipped.size() > kSkippedShown) out += fmt::format(" And {} more skipped lines.", skipped.size() - kSkippedShown);
  return out;
}

std::string DataStats::summary() const {
  size_t total = 0;
  std::string by_format;
  for (size_t f = 0; f < kDataFormatCount; ++f) {
    if (examples[f] == 0) continue;
    total += examples[f];
    by_format += fmt::format("{}{} {}", by_format.empty() ? "" : ", ", examples[f], data_format_name(DataFormat(f)));
  }
  std::string out = fmt::format("Data: {} lines read ({} blank, {} skipped), {} examples{}. ", lines, blank_lines,
                                skipped.size(), total, by_format.empty() ? "" : " (" + by_format + ")");
  out += describe("Training", train);
  if (validation.examples > 0) out += " " + describe("Validation", validation);
  return out + skipped_summary();
}

}  // namespace whet
