// Preference and RL losses (train/preference_loss.h): values worked by hand,
// derivatives against central finite differences, PyTorch with autograd on random
// inputs (tests/python/make_preference_references.py), and extreme inputs.
#include "train/preference_loss.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.h"

namespace whet {
namespace {

PairLogps dpo_pair(double delta) {
  // π_c − ref_c = Δ, π_r − ref_r = 0.
  return {.chosen = -20 + delta, .rejected = -30, .ref_chosen = -20, .ref_rejected = -30};
}

// torchtune's fixtures (β = 0.1, Δ = 0, 10, 20), from the issue:
//   loss = −logσ(βΔ) = log(1 + e^(−βΔ)): log 2 = 0.693147, log(1 + e^−1) = 0.313262, log(1 + e^−2) = 0.126928
//   ∂/∂π_c = −β·σ(−βΔ): −0.1·0.5, −0.1·0.268941, −0.1·0.119203; ∂/∂π_r is its negation.
TEST(PreferenceLoss, DpoSigmoidMatchesTorchtuneFixtures) {
  const std::vector<double> deltas = {0, 10, 20}, loss = {0.693147, 0.313262, 0.126928},
                            d_chosen = {-0.05, -0.026894, -0.011920};
  for (size_t i = 0; i < deltas.size(); ++i) {
    const PairLoss got = pair_loss(PreferenceLoss::Sigmoid, dpo_pair(deltas[i]), {});
    EXPECT_NEAR(got.loss, loss[i], 1e-6) << deltas[i];
    EXPECT_NEAR(got.d_chosen, d_chosen[i], 1e-6) << deltas[i];
    EXPECT_NEAR(got.d_rejected, -d_chosen[i], 1e-6) << deltas[i];
    EXPECT_NEAR(got.reward_chosen, 0.1 * deltas[i], 1e-12);
    EXPECT_EQ(got.reward_rejected, 0.0);
  }
}

// cDPO, ε = 0.1: 0.9·log(1 + e^(−βΔ)) + 0.1·log(1 + e^(βΔ));
//   Δ = 10: 0.9·0.313262 + 0.1·1.313262 = 0.413262; Δ = 20: 0.9·0.126928 + 0.1·2.126928 = 0.326928.
TEST(PreferenceLoss, ConservativeDpoMatchesIssue) {
  const std::vector<double> deltas = {0, 10, 20}, loss = {0.693147, 0.413262, 0.326928};
  for (size_t i = 0; i < deltas.size(); ++i)
    EXPECT_NEAR(pair_loss(PreferenceLoss::Sigmoid, dpo_pair(deltas[i]), {.label_smoothing = 0.1}).loss, loss[i], 1e-6);
}

// Robust, ε = 0.1, βΔ = 1: (0.9·log(1 + e^−1) − 0.1·log(1 + e)) / 0.8 = (0.281936 − 0.131326) / 0.8 = 0.188262;
//   ∂/∂π_c = β·(−0.9·σ(−1) − 0.1·σ(1)) / 0.8 = 0.1·(−0.242047 − 0.073106) / 0.8 = −0.0393941.
TEST(PreferenceLoss, RobustDpoHandWorked) {
  const PairLoss got = pair_loss(PreferenceLoss::Robust, dpo_pair(10), {.label_smoothing = 0.1});
  EXPECT_NEAR(got.loss, 0.188262, 1e-6);
  EXPECT_NEAR(got.d_chosen, -0.0393941, 1e-7);
  EXPECT_NEAR(got.d_rejected, 0.0393941, 1e-7);
}

// Hinge, β = 0.1: Δ = 5 gives 1 − 0.5 = 0.5 and slopes ∓β; Δ = 20 is past the margin: 0 and no gradient.
TEST(PreferenceLoss, HingeHandWorked) {
  const PairLoss inside = pair_loss(PreferenceLoss::Hinge, dpo_pair(5), {});
  EXPECT_NEAR(inside.loss, 0.5, 1e-12);
  EXPECT_NEAR(inside.d_chosen, -0.1, 1e-12);
  EXPECT_NEAR(inside.d_rejected, 0.1, 1e-12);
  const PairLoss past = pair_loss(PreferenceLoss::Hinge, dpo_pair(20), {});
  EXPECT_EQ(past.loss, 0.0);
  EXPECT_EQ(past.d_chosen, 0.0);
  EXPECT_EQ(past.d_rejected, 0.0);
}

// IPO, β = 0.5 (target 1/(2β) = 1), log-probs normalised by length:
//   chosen (−10 − −12)/4 = 0.5, rejected (−9 − −9)/2 = 0, Δₙ = 0.5, loss (0.5 − 1)² = 0.25;
//   ∂/∂π_c = 2·(−0.5)/4 = −0.25, ∂/∂π_r = −2·(−0.5)/2 = 0.5; rewards β·0.5 = 0.25 and 0.
TEST(PreferenceLoss, IpoHandWorked) {
  const PairLogps p{.chosen = -10, .rejected = -9, .ref_chosen = -12, .ref_rejected = -9, .chosen_tokens = 4,
                    .rejected_tokens = 2};
  const PairLoss got = pair_loss(PreferenceLoss::Ipo, p, {.beta = 0.5});
  EXPECT_NEAR(got.loss, 0.25, 1e-12);
  EXPECT_NEAR(got.d_chosen, -0.25, 1e-12);
  EXPECT_NEAR(got.d_rejected, 0.5, 1e-12);
  EXPECT_NEAR(got.reward_chosen, 0.25, 1e-12);
  EXPECT_NEAR(got.reward_rejected, 0.0, 1e-12);
}

// SimPO, β = 2, γ = 0.5: means −4/4 = −1 and −9/3 = −3, u = 2·2 − 0.5 = 3.5;
//   loss log(1 + e^−3.5) = 0.0297504; ∂/∂π_c = −σ(−3.5)·β/4 = −0.0293122·0.5 = −0.0146561,
//   ∂/∂π_r = σ(−3.5)·β/3 = 0.0195415; the reference plays no part.
TEST(PreferenceLoss, SimpoHandWorked) {
  const PairLogps p{.chosen = -4, .rejected = -9, .ref_chosen = 123, .ref_rejected = -456, .chosen_tokens = 4,
                    .rejected_tokens = 3};
  const PairLoss got = pair_loss(PreferenceLoss::Simpo, p, {.beta = 2.0, .simpo_gamma = 0.5});
  EXPECT_NEAR(got.loss, 0.0297504, 1e-7);
  EXPECT_NEAR(got.d_chosen, -0.0146561, 1e-7);
  EXPECT_NEAR(got.d_rejected, 0.0195415, 1e-7);
  EXPECT_NEAR(got.reward_chosen, -2.0, 1e-12);
}

// ORPO, λ = 0.1: chosen mean log-prob log 0.5 over 2 tokens (odds 1, log-odds 0), rejected
// log 0.2 over 3 tokens (odds 0.25, log-odds −1.386294); z = 1.386294, σ(−z) = 1/(1 + 4) = 0.2.
//   loss = −log 0.5 + 0.1·log(1 + 0.25) = 0.693147 + 0.0223144 = 0.715462
//   ∂/∂ℓ_c = −1 − λ·σ(−z)/(1 − 0.5) = −1.04, so ∂/∂π_c = −1.04/2 = −0.52
//   ∂/∂ℓ_r = λ·σ(−z)/(1 − 0.2) = 0.025, so ∂/∂π_r = 0.025/3 = 0.00833333
TEST(PreferenceLoss, OrpoHandWorked) {
  const PairLogps p{.chosen = 2 * std::log(0.5), .rejected = 3 * std::log(0.2), .chosen_tokens = 2,
                    .rejected_tokens = 3};
  const PairLoss got = pair_loss(PreferenceLoss::Orpo, p, {.orpo_lambda = 0.1});
  EXPECT_NEAR(got.loss, 0.7154615, 1e-7);
  EXPECT_NEAR(got.nll, std::log(2.0), 1e-12);
  EXPECT_NEAR(got.log_odds_ratio, std::log(4.0), 1e-12);
  EXPECT_NEAR(got.d_chosen, -0.52, 1e-12);
  EXPECT_NEAR(got.d_rejected, 0.025 / 3, 1e-12);
}

// RPO adds the chosen answer's NLL per token to the DPO term. Δ = 0 (policy =
// reference), β = 0.1, π_c = −10 over 5 tokens, α = 1: DPO gives log 2 and
// ∂/∂π_c = −β/2 = −0.05; the NLL 10/5 = 2 adds 2 and −α/5 = −0.2.
TEST(PreferenceLoss, RpoAddsTheChosenNllHandWorked) {
  const PairLogps p{.chosen = -10, .rejected = -12, .ref_chosen = -10, .ref_rejected = -12, .chosen_tokens = 5,
                    .rejected_tokens = 6};
  const PairLoss got = pair_loss(PreferenceLoss::Sigmoid, p, {.beta = 0.1, .rpo_alpha = 1.0});
  EXPECT_NEAR(got.loss, std::log(2.0) + 2.0, 1e-12);
  EXPECT_NEAR(got.nll, 2.0, 1e-12);
  EXPECT_NEAR(got.d_chosen, -0.05 - 0.2, 1e-12);
  EXPECT_NEAR(got.d_rejected, 0.05, 1e-12);
  // SimPO and ORPO have their own terms and take no RPO.
  EXPECT_EQ(pair_loss(PreferenceLoss::Simpo, p, {.beta = 2.0, .rpo_alpha = 1.0}).loss,
            pair_loss(PreferenceLoss::Simpo, p, {.beta = 2.0}).loss);
}

// Bradley–Terry, r_c = 1, r_r = 0: log(1 + e^−1) = 0.313262 (the issue's), ∂/∂r_c = −σ(−1) = −0.268941.
// Margin 1 alone: u = 1 − 0 − 1 = 0, log 2 = 0.693147, ∂/∂r_c = −σ(0) = −0.5, ∂/∂r_r = 0.5.
// Centering 0.1 alone: 0.313262 + 0.1·(1 + 0)² = 0.413262, ∂/∂r_c = −0.268941 + 2·0.1·1 = −0.068941,
//   ∂/∂r_r = 0.268941 + 0.2 = 0.468941.
// With margin 0.5 and centering 0.01: log(1 + e^−0.5) + 0.01·1² = 0.474077 + 0.01 = 0.484077,
//   ∂/∂r_c = −σ(−0.5) + 2·0.01·1 = −0.377541 + 0.02, ∂/∂r_r = 0.377541 + 0.02.
TEST(PreferenceLoss, BradleyTerryHandWorked) {
  const PairLoss plain = reward_pair_loss(1, 0, 0, 0);
  EXPECT_NEAR(plain.loss, 0.313262, 1e-6);
  EXPECT_NEAR(plain.d_chosen, -0.268941, 1e-6);
  EXPECT_NEAR(plain.d_rejected, 0.268941, 1e-6);
  const PairLoss margin = reward_pair_loss(1, 0, 1, 0);
  EXPECT_NEAR(margin.loss, 0.693147, 1e-6);
  EXPECT_NEAR(margin.d_chosen, -0.5, 1e-6);
  EXPECT_NEAR(margin.d_rejected, 0.5, 1e-6);
  const PairLoss centring = reward_pair_loss(1, 0, 0, 0.1);
  EXPECT_NEAR(centring.loss, 0.413262, 1e-6);
  EXPECT_NEAR(centring.d_chosen, -0.068941, 1e-6);
  EXPECT_NEAR(centring.d_rejected, 0.468941, 1e-6);
  const PairLoss centred = reward_pair_loss(1, 0, 0.5, 0.01);
  EXPECT_NEAR(centred.loss, 0.484077, 1e-6);
  EXPECT_NEAR(centred.d_chosen, -0.357541, 1e-6);
  EXPECT_NEAR(centred.d_rejected, 0.397541, 1e-6);
}

// KTO, β = 0.1, z₀ = 2, r = π − ref = −10 − −22 = 12:
//   desirable   u = 0.1·(12 − 2) = 1:  loss 1 − σ(1) = 0.268941, ∂/∂π = −β·σ(1)σ(−1) = −0.0196612
//   undesirable u = 0.1·(2 − 12) = −1, λ_U = 1.5: loss 1.5·(1 − σ(−1)) = 1.096588, ∂/∂π = +1.5·β·σ(1)σ(−1) = 0.0294918
// z₀ of mismatched pairs with π − ref = 1, −3, 5 is their mean 1; of −1, −2 it is clamped to 0.
TEST(PreferenceLoss, KtoHandWorked) {
  const PreferenceSettings s{.kto_undesirable_weight = 1.5};
  const KtoLoss good = kto_loss({.logp = -10, .ref_logp = -22, .desirable = true}, 2.0, s);
  EXPECT_NEAR(good.loss, 0.268941, 1e-6);
  EXPECT_NEAR(good.d_logp, -0.0196612, 1e-7);
  EXPECT_NEAR(good.reward, 1.2, 1e-12);
  const KtoLoss bad = kto_loss({.logp = -10, .ref_logp = -22, .desirable = false}, 2.0, s);
  EXPECT_NEAR(bad.loss, 1.096588, 1e-6);
  EXPECT_NEAR(bad.d_logp, 0.0294918, 1e-7);
  const std::vector<double> policy = {-5, -10, -1}, reference = {-6, -7, -6};
  EXPECT_NEAR(kto_reference_point(policy, reference), 1.0, 1e-12);
  EXPECT_EQ(kto_reference_point(std::vector<double>{-5, -5}, std::vector<double>{-4, -3}), 0.0);
}

// GRPO rewards {1, 0, 0, 0}: mean 0.25, sample std sqrt((0.75² + 3·0.25²)/3) = 0.5, and with
// ε_A = 1e-4 advantages 0.75/0.5001 = 1.4997 and −0.25/0.5001 = −0.4999 (the issue's digits;
// ε_A = 1e-8 would give 1.5000). A second group of equal rewards gives zeros, not NaN.
TEST(PreferenceLoss, GroupAdvantagesMatchIssue) {
  const std::vector<double> rewards = {1, 0, 0, 0, 0.3, 0.3, 0.3, 0.3};
  const std::vector<double> a = group_advantages(rewards, 4);
  ASSERT_EQ(a.size(), 8u);
  EXPECT_NEAR(a[0], 1.4997, 5e-5);
  for (int i = 1; i < 4; ++i) EXPECT_NEAR(a[i], -0.4999, 5e-5);
  EXPECT_NEAR(a[0], 0.75 / 0.5001, 1e-12);
  for (int i = 4; i < 8; ++i) EXPECT_EQ(a[i], 0.0);
  test::expect_error([&] { group_advantages(rewards, 1); }, {"group size must be 2 or more"});
}

// k3 for π = −1, ref = −1.5: e^−0.5 − (−0.5) − 1 = 0.606531 + 0.5 − 1 = 0.106531; ∂/∂π = 1 − e^−0.5 = 0.393469.
// Token losses with ρ = e^(π − π_old):
//   A = 1.4997, π = −1, π_old = −1.5: ρ = 1.648721 > 1.2, clipped: −1.2·A = −1.799640, no gradient
//   A = −0.4999, same ρ: the unclipped −ρ·A is the larger loss: 0.824196, ∂/∂π = −ρ·A = 0.824196
//   A = −0.4999, π = π_old (ρ = 1), β = 0.04, ref −1.5: 0.4999 + 0.04·0.106531 = 0.504161,
//     ∂/∂π = 0.4999 + 0.04·0.393469 = 0.515639
TEST(PreferenceLoss, GrpoTokenHandWorked) {
  EXPECT_NEAR(k3_kl(-1, -1.5), 0.106531, 1e-6);
  const double high = 0.75 / 0.5001, low = -0.25 / 0.5001;
  const GrpoTokenLoss clipped = grpo_token_loss(-1, -1.5, -1.5, high, {});
  EXPECT_TRUE(clipped.clipped);
  EXPECT_NEAR(clipped.loss, -1.799640, 1e-6);
  EXPECT_EQ(clipped.d_logp, 0.0);
  EXPECT_NEAR(clipped.kl, 0.106531, 1e-6);
  const GrpoTokenLoss unclipped = grpo_token_loss(-1, -1.5, -1.5, low, {});
  EXPECT_FALSE(unclipped.clipped);
  EXPECT_NEAR(unclipped.loss, 0.824196, 1e-6);
  EXPECT_NEAR(unclipped.d_logp, 0.824196, 1e-6);
  const GrpoTokenLoss with_kl = grpo_token_loss(-1, -1, -1.5, low, {.beta = 0.04});
  EXPECT_NEAR(with_kl.loss, 0.504161, 1e-6);
  EXPECT_NEAR(with_kl.d_logp, 0.515639, 1e-6);
}

// Two pairs with rewards (1, 0) and (0.5, 1): means 0.75, 0.5, margin 0.25, accuracy 0.5.
TEST(PreferenceLoss, MetricsAreMeansOverPairs) {
  PreferenceMetrics m;
  add_pair(m, PairLoss{.loss = 1, .reward_chosen = 1, .reward_rejected = 0}, PairLogps{.chosen = -10, .rejected = -20});
  add_pair(m, PairLoss{.loss = 3, .reward_chosen = 0.5, .reward_rejected = 1},
           PairLogps{.chosen = -30, .rejected = -40});
  EXPECT_EQ(m.pairs, 2);
  EXPECT_DOUBLE_EQ(m.loss, 2);
  EXPECT_DOUBLE_EQ(m.reward_chosen, 0.75);
  EXPECT_DOUBLE_EQ(m.reward_rejected, 0.5);
  EXPECT_DOUBLE_EQ(m.margin, 0.25);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(m.logp_chosen, -20);
  EXPECT_DOUBLE_EQ(m.logp_rejected, -30);
}

TEST(PreferenceLoss, RejectsBadSettings) {
  test::expect_error([] { pair_loss(PreferenceLoss::Sigmoid, dpo_pair(1), {.beta = 0}); }, {"beta must be a positive"});
  test::expect_error([] { pair_loss(PreferenceLoss::Robust, dpo_pair(1), {.label_smoothing = 0.5}); },
                     {"robust loss must be in [0, 0.5)"});
  test::expect_error([] { pair_loss(PreferenceLoss::Sigmoid, dpo_pair(1), {.label_smoothing = 0.7}); },
                     {"label_smoothing must be in [0, 0.5]"});
}

// ---- Derivatives against central differences ----
// h = 1e-4 on log-probs of size ~1–100: truncation ~h²·f''' and rounding ~1e-16·f/h are
// both far below the tolerance, 1e-7 absolute plus 1e-6 relative.
double central_difference(const std::function<double(double)>& f, double x) {
  const double h = 1e-4;
  return (f(x + h) - f(x - h)) / (2 * h);
}
void expect_derivative(double analytic, const std::function<double(double)>& f, double x, const std::string& what) {
  const double numeric = central_difference(f, x);
  EXPECT_NEAR(analytic, numeric, 1e-7 + 1e-6 * std::abs(numeric)) << what;
}

const std::vector<PairLogps> kPairPoints = {
    {-12.5, -30.25, -14, -27, 5, 11},  // chosen, rejected, ref_chosen, ref_rejected, |c|, |r|
    {-40, -8, -35.5, -9.5, 17, 3},
    {-3.2, -3.9, -3.0, -4.4, 2, 2},
};

TEST(PreferenceLoss, PairDerivativesMatchFiniteDifferences) {
  const PreferenceSettings settings{.beta = 0.3, .label_smoothing = 0.15, .simpo_gamma = 0.4, .orpo_lambda = 0.5};
  for (PreferenceLoss kind : {PreferenceLoss::Sigmoid, PreferenceLoss::Robust, PreferenceLoss::Hinge,
                              PreferenceLoss::Ipo, PreferenceLoss::Simpo, PreferenceLoss::Orpo}) {
    for (const PairLogps& p : kPairPoints) {
      const std::string what = "kind " + std::to_string(int(kind)) + " chosen " + std::to_string(p.chosen);
      const PairLoss got = pair_loss(kind, p, settings);
      const auto loss_moving = [&](double PairLogps::*field) {
        return [&, field](double x) {
          PairLogps q = p;
          q.*field = x;
          return pair_loss(kind, q, settings).loss;
        };
      };
      expect_derivative(got.d_chosen, loss_moving(&PairLogps::chosen), p.chosen, what + " d_chosen");
      expect_derivative(got.d_rejected, loss_moving(&PairLogps::rejected), p.rejected, what + " d_rejected");
    }
  }
}

TEST(PreferenceLoss, RewardAndKtoDerivativesMatchFiniteDifferences) {
  for (const auto& [rc, rr] : std::vector<std::pair<double, double>>{{1.5, -0.7}, {-2, 3}, {0.2, 0.1}}) {
    const PairLoss got = reward_pair_loss(rc, rr, 0.3, 0.05);
    expect_derivative(got.d_chosen, [&](double x) { return reward_pair_loss(x, rr, 0.3, 0.05).loss; }, rc, "r_c");
    expect_derivative(got.d_rejected, [&](double x) { return reward_pair_loss(rc, x, 0.3, 0.05).loss; }, rr, "r_r");
  }
  const PreferenceSettings s{.beta = 0.4, .kto_desirable_weight = 0.8, .kto_undesirable_weight = 1.3};
  for (const KtoExample& e : {KtoExample{-20, -23, true}, KtoExample{-20, -23, false}, KtoExample{-5, -2, true},
                              KtoExample{-5, -2, false}}) {
    const auto loss = [&](double x) { KtoExample f = e; f.logp = x; return kto_loss(f, 0.7, s).loss; };
    expect_derivative(kto_loss(e, 0.7, s).d_logp, loss, e.logp, "kto");
  }
}

TEST(PreferenceLoss, GrpoDerivativesMatchFiniteDifferences) {
  // Ratios inside and outside the clip range (away from its edges), both signs of A, with and without KL.
  const std::vector<std::array<double, 3>> points = {
      {-1, -1.1, -0.8}, {-2, -2.6, -1.5}, {-0.5, 0, -0.9}, {-3, -3.05, -3.5}};
  for (const GrpoSettings& s : {GrpoSettings{}, GrpoSettings{.clip_high = 0.28, .beta = 0.04}})
    for (double a : {1.3, -0.7})
      for (const auto& [logp, old_logp, ref_logp] : points) {
        const auto loss = [&](double x) { return grpo_token_loss(x, old_logp, ref_logp, a, s).loss; };
        expect_derivative(grpo_token_loss(logp, old_logp, ref_logp, a, s).d_logp, loss, logp,
                          "grpo logp " + std::to_string(logp) + " A " + std::to_string(a));
      }
}

// ---- PyTorch on random inputs ----
// Double on both sides with the same formulas: relative 1e-9 (plus 1e-15 absolute for
// values that are exactly or nearly 0, such as a hinge past its margin).
void expect_close(double got, double want, const std::string& what) {
  EXPECT_NEAR(got, want, 1e-9 * std::abs(want) + 1e-15) << what;
}
// Each named field of a reference case against what Whet computed.
void expect_fields(const nlohmann::json& c, std::initializer_list<std::pair<const char*, double>> got) {
  for (const auto& [name, value] : got) expect_close(value, c.at(name), std::string(name) + " of " + c.dump());
}

PreferenceLoss kind_named(const std::string& name) {
  if (name == "sigmoid") return PreferenceLoss::Sigmoid;
  if (name == "robust") return PreferenceLoss::Robust;
  if (name == "hinge") return PreferenceLoss::Hinge;
  if (name == "ipo") return PreferenceLoss::Ipo;
  if (name == "simpo") return PreferenceLoss::Simpo;
  EXPECT_EQ(name, "orpo");
  return PreferenceLoss::Orpo;
}

class PreferenceLossTorch : public testing::Test {
 protected:
  void SetUp() override {
    const std::string path = test::testdata_path("preference_losses.json");
    WHET_REQUIRE_FILE(path, "tests/python/make_references.sh");
    reference = nlohmann::json::parse(std::ifstream(path));
  }
  nlohmann::json reference;
};

TEST_F(PreferenceLossTorch, PairLosses) {
  ASSERT_EQ(reference.at("pairs").size(), 168u);  // 14 settings of 12 pairs
  for (const nlohmann::json& c : reference.at("pairs")) {
    const nlohmann::json& l = c.at("logps");
    const nlohmann::json& s = c.at("settings");
    const PairLogps p{l.at("chosen"), l.at("rejected"), l.at("ref_chosen"), l.at("ref_rejected"),
                      l.at("chosen_tokens"), l.at("rejected_tokens")};
    PreferenceSettings settings{.beta = s.at("beta"), .label_smoothing = s.at("label_smoothing")};
    settings.simpo_gamma = s.value("simpo_gamma", settings.simpo_gamma);
    settings.orpo_lambda = s.value("orpo_lambda", settings.orpo_lambda);
    settings.rpo_alpha = s.value("rpo_alpha", settings.rpo_alpha);
    const PairLoss got = pair_loss(kind_named(c.at("kind")), p, settings);
    expect_fields(c, {{"loss", got.loss}, {"d_chosen", got.d_chosen}, {"d_rejected", got.d_rejected},
                      {"reward_chosen", got.reward_chosen}, {"reward_rejected", got.reward_rejected}});
  }
}

TEST_F(PreferenceLossTorch, BradleyTerry) {
  ASSERT_EQ(reference.at("reward").size(), 32u);
  for (const nlohmann::json& c : reference.at("reward")) {
    const PairLoss got = reward_pair_loss(c.at("reward_chosen"), c.at("reward_rejected"), c.at("margin"),
                                          c.at("center_coefficient"));
    expect_fields(c, {{"loss", got.loss}, {"d_chosen", got.d_chosen}, {"d_rejected", got.d_rejected}});
  }
}

TEST_F(PreferenceLossTorch, Kto) {
  const nlohmann::json& kto = reference.at("kto");
  const std::vector<double> policy = kto.at("kl_policy"), ref = kto.at("kl_reference");
  const double z0 = kto_reference_point(policy, ref);
  expect_close(z0, kto.at("z0"), "z0");
  ASSERT_EQ(kto.at("examples").size(), 36u);
  for (const nlohmann::json& c : kto.at("examples")) {
    const PreferenceSettings s{.beta = c.at("beta"), .kto_desirable_weight = c.at("desirable_weight"),
                               .kto_undesirable_weight = c.at("undesirable_weight")};
    const KtoLoss got = kto_loss({c.at("logp"), c.at("ref_logp"), c.at("desirable")}, z0, s);
    expect_fields(c, {{"loss", got.loss}, {"d_logp", got.d_logp}, {"reward", got.reward}});
  }
}

TEST_F(PreferenceLossTorch, Grpo) {
  const nlohmann::json& grpo = reference.at("grpo");
  const std::vector<double> rewards = grpo.at("rewards"), want = grpo.at("advantages");
  const std::vector<double> advantages = group_advantages(rewards, grpo.at("group_size"));
  ASSERT_EQ(advantages.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) expect_close(advantages[i], want[i], "advantage " + std::to_string(i));
  ASSERT_EQ(grpo.at("tokens").size(), 144u);
  for (const nlohmann::json& c : grpo.at("tokens")) {
    const GrpoSettings s{.clip_low = c.at("clip_low"), .clip_high = c.at("clip_high"), .beta = c.at("beta")};
    const GrpoTokenLoss got = grpo_token_loss(c.at("logp"), c.at("old_logp"), c.at("ref_logp"), c.at("advantage"), s);
    expect_fields(c, {{"loss", got.loss}, {"d_logp", got.d_logp}, {"kl", got.kl}});
  }
}

// ---- Extreme inputs stay finite ----
void expect_finite(const PairLoss& p, const std::string& what) {
  EXPECT_TRUE(std::isfinite(p.loss) && std::isfinite(p.d_chosen) && std::isfinite(p.d_rejected)) << what;
}

// βΔ = ±1000: the logistic losses are 0 or 1000 (not inf), their slopes 0 or ∓β.
TEST(PreferenceLoss, ExtremeMarginsStayFinite) {
  const PreferenceSettings s{.beta = 1.0, .label_smoothing = 0.1};
  for (double delta : {1000.0, -1000.0})
    for (PreferenceLoss kind : {PreferenceLoss::Sigmoid, PreferenceLoss::Robust, PreferenceLoss::Hinge,
                                PreferenceLoss::Ipo, PreferenceLoss::Simpo}) {
      PairLogps p = dpo_pair(delta);
      if (kind == PreferenceLoss::Simpo)  // no reference: the margin is in the policy's own log-probs
        p = {.chosen = delta > 0 ? -1.0 : -1001.0, .rejected = delta > 0 ? -1001.0 : -1.0};
      expect_finite(pair_loss(kind, p, s), "kind " + std::to_string(int(kind)) + " delta " + std::to_string(delta));
    }
  const PairLoss wrong = pair_loss(PreferenceLoss::Sigmoid, dpo_pair(-1000), {.beta = 1.0});
  EXPECT_NEAR(wrong.loss, 1000, 1e-9);
  EXPECT_NEAR(wrong.d_chosen, -1.0, 1e-12);
  const PairLoss right = pair_loss(PreferenceLoss::Sigmoid, dpo_pair(1000), {.beta = 1.0});
  EXPECT_EQ(right.loss, 0.0);  // e^-1000 underflows: log1p(0)
  EXPECT_FALSE(std::signbit(right.loss));
  for (double r : {1000.0, -1000.0}) {
    const PairLoss bt = reward_pair_loss(r, -r, 0, 0);
    expect_finite(bt, "bradley-terry " + std::to_string(r));
    for (bool desirable : {true, false}) {
      const KtoLoss k = kto_loss({.logp = r, .ref_logp = 0, .desirable = desirable}, 0, {.beta = 1.0});
      EXPECT_TRUE(std::isfinite(k.loss) && std::isfinite(k.d_logp)) << r;
    }
  }
}

// ORPO with a completion the policy is certain of (mean log-prob exactly 0, as float
// log-softmax gives for a confident model), a hair below 0, and both certain.
TEST(PreferenceLoss, OrpoNearCertaintyStaysFinite) {
  const std::vector<std::pair<double, double>> cases = {
      {0.0, -1.0}, {-1.0, 0.0}, {-1e-12, -2.0}, {-1e-300, -0.5}, {0.0, 0.0}, {-1e-15, -1e-15}, {-1000, -0.1}};
  for (const auto& [c, r] : cases) {
    const PairLoss got = pair_loss(PreferenceLoss::Orpo, {.chosen = c, .rejected = r}, {});
    expect_finite(got, "orpo " + std::to_string(c) + " " + std::to_string(r));
  }
  // Chosen certain and rejected not: the odds-ratio term vanishes, and its weight on the
  // chosen tends to λ·odds_r = 0.1·(e^-1/(1 − e^-1)) = 0.0581977, beside the NLL's −1.
  const PairLoss certain = pair_loss(PreferenceLoss::Orpo, {.chosen = 0.0, .rejected = -1.0}, {});
  EXPECT_NEAR(certain.loss, 0.0, 1e-12);
  EXPECT_NEAR(certain.d_chosen, -1 - 0.1 * std::exp(-1.0) / -std::expm1(-1.0), 1e-9);
  const PairLoss near = pair_loss(PreferenceLoss::Orpo, {.chosen = -1e-9, .rejected = -1.0}, {});
  EXPECT_NEAR(near.d_chosen, certain.d_chosen, 1e-6);
}

}  // namespace
}  // namespace whet
