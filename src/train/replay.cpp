#include "train/replay.h"

#include <fmt/format.h>

#include <cmath>

#include "core/error.h"
#include "data/dataset.h"
#include "data/shuffle.h"
#include "eval/builtin_files.h"

namespace whet {

ReplayData load_replay_data(const std::string& source, const Tokenizer& tokenizer, const ChatTemplate& chat_template,
                            DataOptions options) {
  options.format = DataFormat::Auto;  // replay data need not share train_data's format
  options.val_set_size = 0;
  ReplayData replay;
  DataStats stats;
  if (source == kBuiltinReplay) {
    replay.sequences = sequences_from_jsonl_text(builtin_file(kGeneralReplay), std::string(kGeneralReplay), tokenizer,
                                                 chat_template, options, stats);
  } else {
    Dataset dataset = load_dataset({source}, {}, tokenizer, chat_template, options);
    replay.sequences = std::move(dataset.train);
    stats = dataset.stats;
  }
  if (replay.sequences.empty()) fail("replay_data", "{}: nothing to replay. {}", source, stats.summary());
  replay.summary = fmt::format("replay {}: {} sequences", source == kBuiltinReplay ? std::string(kGeneralReplay) : source,
                               replay.sequences.size());
  return replay;
}

ReplaySchedule::ReplaySchedule(size_t count, double ratio, int64_t per_step, uint64_t seed)
    : count_(count), per_step_(ratio * double(per_step)), seed_(seed) {}

int64_t ReplaySchedule::stream_position(int64_t step) const {
  // The small margin keeps ratios such as 0.1 × 10 from rounding down to 0.999…
  return int64_t(std::floor(double(step) * per_step_ + 1e-9));
}

std::vector<size_t> ReplaySchedule::for_step(int64_t step) const {
  std::vector<size_t> indices;
  if (count_ == 0) return indices;
  const int64_t begin = stream_position(step), end = stream_position(step + 1);
  std::vector<size_t> order;
  int64_t pass = -1;
  for (int64_t position = begin; position < end; ++position) {
    if (position / int64_t(count_) != pass) {
      pass = position / int64_t(count_);
      order = shuffled_order(count_, seed_ * 0x2545f4914f6cdd1dull + 0x5eed + uint64_t(pass));
    }
    indices.push_back(order[size_t(position % int64_t(count_))]);
  }
  return indices;
}

}  // namespace whet
