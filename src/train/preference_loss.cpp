#include "train/preference_loss.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace whet {
namespace {

// log(1 + e^x) without overflow for large x or loss of e^x for very negative x.
double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

// The pair losses other than ORPO are a function f of one margin u, linear in the
// two policy log-probs: u = a_c·π_c − a_r·π_r + constant. Then ∂/∂π_c = f'(u)·a_c and
// ∂/∂π_r = −f'(u)·a_r.
struct Margin {
  double value, per_chosen, per_rejected;
};
struct ScalarLoss {
  double value, slope;  // f(u), f'(u)
};

// −(1−ε)·logσ(u) − ε·logσ(−u) = (1−ε)·softplus(−u) + ε·softplus(u).
ScalarLoss smoothed_logistic(double u, double eps) {
  return {(1 - eps) * softplus(-u) + eps * softplus(u), -(1 - eps) * sigmoid(-u) + eps * sigmoid(u)};
}

// (−(1−ε)·logσ(u) + ε·logσ(−u)) / (1−2ε): the expected loss is unbiased under labels
// flipped with probability ε.
ScalarLoss robust_logistic(double u, double eps) {
  const double scale = 1 / (1 - 2 * eps);
  return {scale * ((1 - eps) * softplus(-u) - eps * softplus(u)),
          scale * (-(1 - eps) * sigmoid(-u) - eps * sigmoid(u))};
}

// max(0, 1 − u); the slope at the kink is 0, as relu's is.
ScalarLoss hinge(double u) { return u < 1 ? ScalarLoss{1 - u, -1} : ScalarLoss{0, 0}; }

ScalarLoss squared_distance(double u, double target) { return {(u - target) * (u - target), 2 * (u - target)}; }

void check_beta(double beta) {
  if (!(beta > 0) || !std::isfinite(beta)) fail("preference loss", "beta must be a positive number, not {}", beta);
}

void check_settings(PreferenceLoss kind, const PreferenceSettings& s) {
  check_beta(s.beta);
  const double eps = s.label_smoothing;
  if (kind == PreferenceLoss::Robust && !(eps >= 0 && eps < 0.5))
    fail("preference loss", "label_smoothing of the robust loss must be in [0, 0.5), not {}", eps);
  if (!(eps >= 0 && eps <= 0.5)) fail("preference loss", "label_smoothing must be in [0, 0.5], not {}", eps);
  if (!(s.orpo_lambda >= 0)) fail("preference loss", "orpo_lambda must be 0 or more, not {}", s.orpo_lambda);
}

PairLoss from_margin(const Margin& u, const ScalarLoss& f, double reward_chosen, double reward_rejected) {
  PairLoss out;
  out.loss = f.value;
  out.d_chosen = f.slope * u.per_chosen;
  out.d_rejected = -f.slope * u.per_rejected;
  out.reward_chosen = reward_chosen;
  out.reward_rejected = reward_rejected;
  return out;
}

// log(1 − e^ℓ) for ℓ ≤ 0, by the form that keeps precision (Mächler's log1mexp),
// floored so that ℓ = 0 (a completion the policy is certain of, which float
// log-softmax does produce) stays finite: the floor only acts when 1 − e^ℓ < e^-700.
constexpr double kLogOneMinusFloor = -700;
double log_one_minus_exp(double logp) {
  const double l = std::min(logp, 0.0);  // rounding can leave a certain token a hair above 0
  const double v = l > -std::numbers::ln2 ? std::log(-std::expm1(l)) : std::log1p(-std::exp(l));
  return std::max(v, kLogOneMinusFloor);
}

// ORPO with ℓ = π/|·|: L = −ℓ_c + λ·softplus(−z), z = O_c − O_r, O = ℓ − w, w = log(1 − e^ℓ).
// dO/dℓ = 1/(1 − e^ℓ) = e^(−w), and σ(−z) = e^(−softplus(z)); their product is taken
// in log space, so a certain completion (w at its floor, z huge) gives a finite weight.
PairLoss orpo_loss(const PairLogps& p, const PreferenceSettings& s) {
  const double n_c = double(p.chosen_tokens), n_r = double(p.rejected_tokens);
  const double l_c = p.chosen / n_c, l_r = p.rejected / n_r;
  const double w_c = log_one_minus_exp(l_c), w_r = log_one_minus_exp(l_r);
  const double z = (l_c - w_c) - (l_r - w_r);
  const double d_odds_c = -std::exp(-softplus(z) - w_c);  // ∂softplus(−z)/∂ℓ_c
  const double d_odds_r = std::exp(-softplus(z) - w_r);   // ∂softplus(−z)/∂ℓ_r
  PairLoss out;
  out.nll = -l_c;
  out.log_odds_ratio = z;
  out.loss = out.nll + s.orpo_lambda * softplus(-z);
  out.d_chosen = (-1 + s.orpo_lambda * d_odds_c) / n_c;
  out.d_rejected = s.orpo_lambda * d_odds_r / n_r;
  out.reward_chosen = s.orpo_lambda * l_c;
  out.reward_rejected = s.orpo_lambda * l_r;
  return out;
}

}  // namespace

namespace {

// The DPO-family loss of a pair, without RPO's term.
PairLoss preference_term(PreferenceLoss kind, const PairLogps& p, const PreferenceSettings& s);

}  // namespace

PairLoss pair_loss(PreferenceLoss kind, const PairLogps& p, const PreferenceSettings& s) {
  PairLoss out = preference_term(kind, p, s);
  const bool dpo_family = kind != PreferenceLoss::Simpo && kind != PreferenceLoss::Orpo;
  if (dpo_family && s.rpo_alpha > 0) {
    const double n_c = double(p.chosen_tokens);
    out.nll = -p.chosen / n_c;
    out.loss += s.rpo_alpha * out.nll;
    out.d_chosen -= s.rpo_alpha / n_c;
  }
  return out;
}

namespace {

PairLoss preference_term(PreferenceLoss kind, const PairLogps& p, const PreferenceSettings& s) {
  check_settings(kind, s);
  WHET_ASSERT(p.chosen_tokens > 0 && p.rejected_tokens > 0);
  const double beta = s.beta, eps = s.label_smoothing;
  const double n_c = double(p.chosen_tokens), n_r = double(p.rejected_tokens);
  const double ratio_c = p.chosen - p.ref_chosen, ratio_r = p.rejected - p.ref_rejected;
  const Margin dpo{beta * (ratio_c - ratio_r), beta, beta};
  switch (kind) {
    case PreferenceLoss::Sigmoid:
      return from_margin(dpo, smoothed_logistic(dpo.value, eps), beta * ratio_c, beta * ratio_r);
    case PreferenceLoss::Robust:
      return from_margin(dpo, robust_logistic(dpo.value, eps), beta * ratio_c, beta * ratio_r);
    case PreferenceLoss::Hinge:
      return from_margin(dpo, hinge(dpo.value), beta * ratio_c, beta * ratio_r);
    case PreferenceLoss::Ipo: {
      const Margin u{ratio_c / n_c - ratio_r / n_r, 1 / n_c, 1 / n_r};
      return from_margin(u, squared_distance(u.value, 1 / (2 * beta)), beta * ratio_c / n_c, beta * ratio_r / n_r);
    }
    case PreferenceLoss::Simpo: {
      const Margin u{beta * (p.chosen / n_c - p.rejected / n_r) - s.simpo_gamma, beta / n_c, beta / n_r};
      return from_margin(u, smoothed_logistic(u.value, eps), beta * p.chosen / n_c, beta * p.rejected / n_r);
    }
    case PreferenceLoss::Orpo:
      return orpo_loss(p, s);
  }
  WHET_ASSERT(false);
  return {};
}

}  // namespace

PairLoss reward_pair_loss(double reward_chosen, double reward_rejected, double margin, double center_coefficient) {
  const double u = reward_chosen - reward_rejected - margin;
  const double sum = reward_chosen + reward_rejected;
  const double slope = -sigmoid(-u);  // d softplus(−u)/du
  PairLoss out;
  out.loss = softplus(-u) + center_coefficient * sum * sum;
  out.d_chosen = slope + 2 * center_coefficient * sum;
  out.d_rejected = -slope + 2 * center_coefficient * sum;
  out.reward_chosen = reward_chosen;
  out.reward_rejected = reward_rejected;
  return out;
}

void add_pair(PreferenceMetrics& m, const PairLoss& pair, const PairLogps& logps) {
  m.pairs += 1;
  const double w = 1.0 / double(m.pairs);
  const auto mean_in = [w](double& mean, double x) { mean += (x - mean) * w; };
  mean_in(m.loss, pair.loss);
  mean_in(m.reward_chosen, pair.reward_chosen);
  mean_in(m.reward_rejected, pair.reward_rejected);
  mean_in(m.margin, pair.reward_chosen - pair.reward_rejected);
  mean_in(m.accuracy, pair.reward_chosen > pair.reward_rejected ? 1.0 : 0.0);
  mean_in(m.logp_chosen, logps.chosen);
  mean_in(m.logp_rejected, logps.rejected);
}

double kto_reference_point(std::span<const double> policy_logps, std::span<const double> reference_logps) {
  WHET_ASSERT(!policy_logps.empty() && policy_logps.size() == reference_logps.size());
  double sum = 0;
  for (size_t i = 0; i < policy_logps.size(); ++i) sum += policy_logps[i] - reference_logps[i];
  return std::max(0.0, sum / double(policy_logps.size()));
}

// With u = β(r − z₀) (desirable) or β(z₀ − r) (undesirable) the loss is λ·σ(−u),
// whose derivative in u is −λ·σ(u)σ(−u); du/dπ = ±β.
KtoLoss kto_loss(const KtoExample& e, double z0, const PreferenceSettings& s) {
  check_beta(s.beta);
  const double r = e.logp - e.ref_logp;
  const double sign = e.desirable ? 1.0 : -1.0;
  const double weight = e.desirable ? s.kto_desirable_weight : s.kto_undesirable_weight;
  const double u = sign * s.beta * (r - z0);
  KtoLoss out;
  out.loss = weight * sigmoid(-u);
  out.d_logp = -weight * sigmoid(u) * sigmoid(-u) * sign * s.beta;
  out.reward = s.beta * r;
  return out;
}

std::vector<double> group_advantages(std::span<const double> rewards, int64_t group_size, double epsilon) {
  if (group_size < 2)
    fail("grpo", "group size must be 2 or more (a standard deviation needs two samples), not {}", group_size);
  const size_t g = size_t(group_size);
  WHET_ASSERT(rewards.size() % g == 0);
  std::vector<double> out(rewards.size());
  for (size_t begin = 0; begin < rewards.size(); begin += g) {
    const std::span<const double> group = rewards.subspan(begin, g);
    double mean = 0;
    for (double r : group) mean += r;
    mean /= double(g);
    double squares = 0;
    for (double r : group) squares += (r - mean) * (r - mean);
    const double std_dev = std::sqrt(squares / double(g - 1));
    for (size_t i = 0; i < g; ++i) out[begin + i] = (group[i] - mean) / (std_dev + epsilon);
  }
  return out;
}

// e^d − d − 1 with d = ref − π, as expm1(d) − d so that small d keeps its digits.
double k3_kl(double logp, double ref_logp) {
  const double d = ref_logp - logp;
  return std::expm1(d) - d;
}

GrpoTokenLoss grpo_token_loss(double logp, double old_logp, double ref_logp, double advantage,
                              const GrpoSettings& s) {
  const double ratio = std::exp(logp - old_logp);
  const double unclipped = ratio * advantage;
  const double clipped = std::clamp(ratio, 1 - s.clip_low, 1 + s.clip_high) * advantage;
  GrpoTokenLoss out;
  out.clipped = clipped < unclipped;
  out.kl = k3_kl(logp, ref_logp);
  out.loss = -std::min(unclipped, clipped) + s.beta * out.kl;
  // Where the clipped term is the smaller, it is constant in π (clip holds ρ at a bound).
  const double d_surrogate = out.clipped ? 0.0 : -unclipped;
  out.d_logp = d_surrogate - s.beta * std::expm1(ref_logp - logp);
  return out;
}

}  // namespace whet
