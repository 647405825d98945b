#pragma once
// What a training run shows while it runs, for every command that trains
// (whet train, whet watch): a step on the progress line, an evaluation on a line of its own.
#include <string>

#include "cli/progress.h"
#include "train/trainer.h"

namespace whet::cli {

// `examples`: speed in examples/s (a classification head on a frozen base), else tokens/s.
void show_training_report(ProgressLine& progress, const StepReport& report, bool examples);

}  // namespace whet::cli
