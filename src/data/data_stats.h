#pragma once
// What happened to the training data, for the run summary: every line read is
// accounted for, as an example, a blank line, or a skipped line with its reason,
// so that nothing is dropped silently.
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/example.h"

namespace whet {

struct SkippedLine {
  std::string file;
  size_t line = 0;
  std::string reason;  // the error message without its "[file:line]" prefix
};

// Turning one split (training or validation) into sequences.
struct SequenceStats {
  size_t examples = 0;         // examples offered
  size_t truncated = 0;        // longer than sequence_len + 1 tokens, cut
  size_t dropped_long = 0;     // longer than sequence_len + 1 tokens, dropped (drop_long)
  size_t dropped_no_loss = 0;  // no token to train on (after truncation)
  size_t sequences = 0;
  size_t tokens = 0;       // input positions over all sequences
  size_t loss_tokens = 0;  // positions whose target is not -1
};

// Every line read, as a blank line, a skipped line with its reason, or (the rest) a record.
struct LineAccount {
  size_t lines = 0;  // including blank and skipped ones
  size_t blank_lines = 0;
  std::vector<SkippedLine> skipped;

  // Records a malformed line from the whet::Error raised for it.
  void skip(const std::string& file, size_t line, const Error& error);
  // " Skipped file:line: reason." for the first few skipped lines, for a summary's end.
  std::string skipped_summary() const;
};

struct DataStats : LineAccount {
  std::array<size_t, kDataFormatCount> examples{};  // tokenized examples, by DataFormat
  SequenceStats train, validation;

  // One paragraph for the run log; lists the first few skipped lines.
  std::string summary() const;
};

}  // namespace whet
