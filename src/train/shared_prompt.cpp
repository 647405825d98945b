#include "train/shared_prompt.h"

#include <algorithm>

#include "core/error.h"

namespace whet {

namespace {

// The row whose target is the answer's first token: the prompt's last token.
int64_t first_target_row(const TrainingSequence& s) {
  const auto it = std::find_if(s.targets.begin(), s.targets.end(), [](int32_t t) { return t >= 0; });
  WHET_ASSERT(it != s.targets.end());
  return it - s.targets.begin();
}

// The rows both answers share: the prompt before its last token.
int64_t shared_rows(const TrainingSequence& chosen, const TrainingSequence& rejected) {
  const int64_t last_prompt = first_target_row(chosen);
  WHET_ASSERT(first_target_row(rejected) == last_prompt &&
              std::equal(chosen.ids.begin(), chosen.ids.begin() + last_prompt + 1, rejected.ids.begin()));
  return last_prompt;
}

void append_row(TrainingSequence& to, const TrainingSequence& from, size_t row, int32_t segment_begin) {
  to.ids.push_back(from.ids[row]);
  to.targets.push_back(from.targets[row]);
  to.positions.push_back(from.positions[row]);
  to.segment_begin.push_back(segment_begin);
}

}  // namespace

TokenSequence SharedPromptSequence::view() const {
  return {sequence.ids, sequence.targets, sequence.positions, sequence.segment_begin, prefix_end};
}

SharedPromptSequence share_prompt(const TrainingSequence& chosen, const TrainingSequence& rejected) {
  WHET_ASSERT(std::all_of(chosen.segment_begin.begin(), chosen.segment_begin.end(), [](int32_t b) { return b == 0; }) &&
              std::all_of(rejected.segment_begin.begin(), rejected.segment_begin.end(), [](int32_t b) { return b == 0; }));
  const int64_t shared = shared_rows(chosen, rejected);
  SharedPromptSequence s;
  s.sequence = chosen;
  s.prefix_end.assign(chosen.ids.size(), 0);
  const auto rejected_begin = int32_t(chosen.ids.size());
  for (size_t row = size_t(shared); row < rejected.ids.size(); ++row) {
    append_row(s.sequence, rejected, row, rejected_begin);
    s.prefix_end.push_back(int32_t(shared));
  }
  s.row_ends = {int64_t(rejected_begin), int64_t(s.sequence.ids.size())};
  return s;
}

int64_t shared_prompt_rows(const TrainingSequence& chosen, const TrainingSequence& rejected) {
  return int64_t(chosen.ids.size() + rejected.ids.size()) - shared_rows(chosen, rejected);
}

int64_t pair_tokens(const TrainingSequence& chosen, const TrainingSequence& rejected) {
  // Each answer sequence's rows are its tokens but the last.
  return shared_prompt_rows(chosen, rejected) + 1;
}

}  // namespace whet
