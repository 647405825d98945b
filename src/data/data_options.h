#pragma once
// The knobs of the data pipeline, named as Axolotl names them so that users can
// carry their configs over.
#include <cstdint>

#include "data/example.h"

namespace whet {

struct DataOptions {
  DataFormat format = DataFormat::Auto;  // Auto: detected per line from its keys
  bool train_on_inputs = false;  // loss on every token, not only on completions and assistant replies
  int sequence_len = 2048;       // input positions per training sequence
  bool sample_packing = true;    // several examples per sequence, each attending only to itself
  bool drop_long = false;        // drop examples longer than sequence_len + 1 tokens instead of truncating
  bool strict = false;           // a malformed line is an error, instead of being skipped and reported
  uint64_t seed = 42;            // shuffling and the validation split
  double val_set_size = 0;       // fraction of training examples held out when there is no validation file
};

}  // namespace whet
