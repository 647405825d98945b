#pragma once
// Learning-rate schedules with Hugging Face transformers' semantics
// (get_constant_schedule_with_warmup, get_linear_schedule_with_warmup,
// get_cosine_schedule_with_warmup / get_cosine_with_min_lr_schedule_with_warmup),
// so a recipe ported from a transformers run keeps its learning-rate curve.
#include <cstdint>

#include "train/train_config.h"  // LrScheduler, declared once with the run's settings

namespace whet {

struct LrSchedule {
  LrScheduler kind = LrScheduler::Linear;  // transformers' Trainer default
  int64_t warmup_steps = 0;                // linear warmup from 0, for every kind
  double min_lr = 0.0;                     // cosine only: the value it decays to
};

// The learning rate for the update made after `step` updates (0 for the first one),
// as torch's LambdaLR gives it: with warmup the first update uses lr 0. Linear ends at 0
// and stays there past total_steps; cosine (half a cycle) reaches min_lr at total_steps
// and, as in transformers, rises again after it.
double lr_at(const LrSchedule& schedule, double base_lr, int64_t step, int64_t total_steps);

}  // namespace whet
