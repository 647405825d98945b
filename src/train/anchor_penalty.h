#pragma once
// Penalties that pull trained values back towards where they started, against
// forgetting: EWC, λ/2·Σ F·(θ−θ*)² with F a diagonal Fisher estimated on general
// data (train/fisher.h), and L2-SP, the same with F = 1 and θ* the pretrained
// weights. Their gradient λ·F·(θ−θ*) joins the parameter gradients before clipping.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "train/parameter.h"

namespace whet {

// θ* of one parameter, and F (empty: F = 1).
struct Anchor {
  std::vector<float> value;
  std::vector<float> fisher;
};

struct AnchorPenalty {
  double lambda = 0.0;                    // 0: off
  std::map<std::string, Anchor> anchors;  // by Parameter::name
  bool on() const { return lambda > 0.0; }
};

// The penalties of a run, each reported as <name>_penalty.
struct Penalties {
  AnchorPenalty ewc, l2sp;
};

// λ/2·Σ F·(θ−θ*)² over n values, and λ·F·(θ−θ*) added to grad (when grad is not
// null). fisher null: F = 1. Sums in double, in fixed chunks added in order, so
// the value does not depend on the thread count.
double quadratic_penalty(float* grad, const float* value, const float* anchor, const float* fisher, int64_t n,
                         double lambda);

// The penalty over every parameter, its gradient added; 0 when off. A
// parameter without an anchor is an invariant broken by the caller.
double add_penalty_gradient(const AnchorPenalty& penalty, const std::vector<Parameter>& parameters);

// Anchors (θ* = the current value, F = 1) for parameters that have none yet:
// L2-SP takes them when a parameter first trains, before any update or
// checkpoint reaches it, so θ* is the pretrained weight.
void anchor_new_parameters(AnchorPenalty& penalty, const std::vector<Parameter>& parameters);

}  // namespace whet
