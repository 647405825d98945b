#pragma once
// A sequence-classification head: the final hidden states of one example are
// pooled into one vector (its last token's, or the mean over its tokens), and
// a linear layer turns that into one logit per label. The loss is the
// cross-entropy of the right label; a reward model's head has one output, its
// score, and the loss is the caller's (train/reward_step.h). The head is labels × hidden, tiny beside the
// model, so one plain loop serves as both kernel and reference; PyTorch checks it
// (tests/python/make_gradient_references.py).
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace whet {

enum class Pooling { Last, Mean };
std::string_view pooling_name(Pooling pooling);
std::optional<Pooling> pooling_from_name(std::string_view name);  // "last", "mean"

// The pooled vector (hidden) of h (t, hidden): its last row or the mean of its rows.
std::vector<float> pool_hidden(const float* h, int64_t t, int64_t hidden, Pooling pooling);

struct ClassifierHeadResult {
  std::vector<float> probabilities;  // (labels), softmax of the logits
  double loss = 0;                   // -log p(label); 0 without a label
};

// h (t, hidden): one example's final hidden states; weight (labels, hidden), bias (labels).
// With a label ≥ 0, also the backward of grad_scale · loss into whichever of
// these are not null: dh (t, hidden) = (zero on rows the pooling ignores),
// dweight and dbias +=.
ClassifierHeadResult classifier_head(float* dh, float* dweight, float* dbias, const float* h, int64_t t, int64_t hidden,
                                     const float* weight, const float* bias, int labels, Pooling pooling,
                                     int32_t label, float grad_scale);

// A reward head (one output, no softmax): the score bias + weight · pooled of
// h (t, hidden), weight (1, hidden), bias (1) or null. With a non-zero
// grad_scale, the backward of grad_scale · score into whichever of dh, dweight,
// dbias are not null, as classifier_head does.
double score_head(float* dh, float* dweight, float* dbias, const float* h, int64_t t, int64_t hidden,
                  const float* weight, const float* bias, Pooling pooling, float grad_scale);

}  // namespace whet
