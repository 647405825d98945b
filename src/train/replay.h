#pragma once
// Replay, a defence against forgetting: general data mixed into every step's
// batch so the model keeps practising what it already knew while it learns the
// task. Which replay sequences a step takes follows from the step number alone,
// so a resumed run continues the same stream.
#include <cstdint>
#include <string>
#include <vector>

#include "data/data_options.h"
#include "data/sequences.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whet {

// replay_data's name for the general corpus built into Whet (tasks/general/replay.jsonl).
inline constexpr std::string_view kBuiltinReplay = "general";

// Replay's sequences, tokenized and packed as the task's (options: sequence_len,
// packing, train_on_inputs, seed; the format is detected per line), and a line
// for the run log. `source` is kBuiltinReplay or a JSONL path.
struct ReplayData {
  std::vector<TrainingSequence> sequences;
  std::string summary;
};
ReplayData load_replay_data(const std::string& source, const Tokenizer& tokenizer, const ChatTemplate& chat_template,
                            DataOptions options);

// The replay stream: `count` sequences walked in a shuffled order, reshuffled for
// each new pass, so every sequence is used once per pass. Step s takes the
// stream's positions [floor(s·r), floor((s+1)·r)) with r = ratio · per_step:
// ratio replay sequences per task sequence on average, none lost or repeated
// between steps.
class ReplaySchedule {
 public:
  ReplaySchedule(size_t count, double ratio, int64_t per_step, uint64_t seed);
  std::vector<size_t> for_step(int64_t step) const;  // indices into the sequences

 private:
  int64_t stream_position(int64_t step) const;  // replay sequences taken before `step`
  size_t count_;
  double per_step_;  // ratio · task sequences per step
  uint64_t seed_;
};

}  // namespace whet
