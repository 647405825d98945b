#pragma once
// Logit softcapping (Gemma 2, and Gemma 3 where its config sets it): a score or
// logit s becomes cap·tanh(s / cap), which keeps it inside (−cap, cap) while
// leaving small values nearly as they were. Its derivative, 1 − tanh²(s / cap),
// is read from the capped value itself, so a backward needs no copy of s.
#include <cmath>
#include <cstdint>

namespace whet {

// x[i] = cap·tanh(x[i] / cap) on n values, in place; cap <= 0 leaves them alone.
void softcap_forward(float* x, int64_t n, float cap);

// The derivative of the cap at a capped value y = cap·tanh(s / cap), given
// inverse_cap = 1 / cap: 1 − (y / cap)². An inverse_cap of 0 (no cap) gives 1,
// so loops need no branch for uncapped models.
inline float softcap_slope(float capped, float inverse_cap) {
  const float t = capped * inverse_cap;
  return 1.0f - t * t;
}

// 1 / cap, or 0 when there is no cap (cap <= 0): the softcap_slope argument.
inline float softcap_inverse(float cap) { return cap > 0 ? 1.0f / cap : 0.0f; }

// grad[i] *= softcap_slope(capped[i]): a gradient with respect to the capped
// values becomes one with respect to the values before the cap.
void softcap_backward(float* grad, const float* capped, int64_t n, float cap);

}  // namespace whet
