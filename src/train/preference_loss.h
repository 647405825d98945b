#pragma once
// Preference and RL losses as pure functions of sequence log-probabilities, with
// no model: the trainer computes, per completion, the log-probability summed over
// its completion tokens (in double) under the policy and the reference, calls a
// function here, and uses the returned derivative d(loss)/d(policy log-prob) as the
// weight of that sequence's cross-entropy backward. Since the cross-entropy is
// −Σ log π, the weight on its backward is −d(loss)/d(log π).
//
// Notation: π_c, π_r the policy's summed log-probs of the chosen and rejected
// completions, ref_c, ref_r the reference's, |c|, |r| their token counts,
// Δ = (π_c − ref_c) − (π_r − ref_r), σ the logistic function, logσ(x) = −softplus(−x).
// Each loss is per pair (per example, per token for GRPO); the trainer averages.
//
// Pair losses (`pair_loss`), as TRL defines them:
//   Sigmoid  DPO with label smoothing ε (cDPO; ε = 0 is DPO):
//              −(1−ε)·logσ(βΔ) − ε·logσ(−βΔ)
//   Robust   robust DPO (Chowdhury et al. 2024), ε the assumed label-flip rate, ε < ½:
//              (−(1−ε)·logσ(βΔ) + ε·logσ(−βΔ)) / (1−2ε)
//   Hinge    SLiC: max(0, 1 − βΔ)
//   Ipo      IPO: (Δₙ − 1/(2β))², where Δₙ uses log-probs normalised by length (mean
//            per token), policy and reference alike, as TRL does:
//            Δₙ = (π_c − ref_c)/|c| − (π_r − ref_r)/|r|; so ∂/∂π_c = 2(Δₙ − 1/(2β))/|c|
//   Simpo    SimPO, no reference: −(1−ε)·logσ(u) − ε·logσ(−u), u = β·(π_c/|c| − π_r/|r|) − γ
//   Orpo     ORPO, no reference: −π_c/|c| + λ·(−logσ(O_c − O_r)), with ℓ = π/|·| the mean
//            log-prob and O = ℓ − log(1 − e^ℓ) its log-odds, log(1 − e^ℓ) computed stably.
//            The loss INCLUDES the chosen completion's NLL (mean per token): the weight
//            d_chosen already carries its −1/|c|, so the trainer adds no separate SFT term.
//            log(1 − e^ℓ) is floored at −700, which only acts at ℓ = 0 exactly: a certain
//            chosen completion then gets the limit of its weight. When both are certain the
//            true gradient is unbounded and comes back finite but huge (~1e303).
// RPO (rpo_alpha α > 0, as TRL's rpo_alpha): Sigmoid, Robust, Hinge and Ipo gain
//   α·(−π_c/|c|), the chosen answer's NLL per token, so ∂/∂π_c gains −α/|c|; it
//   keeps the chosen answers likely while the margin grows (without it the
//   policy can win the margin by making both answers unlikely).
// Reward model (`reward_pair_loss`), Bradley–Terry on scalar rewards r_c, r_r, as
// TRL's RewardTrainer: −logσ(r_c − r_r − m) + κ·(r_c + r_r)², m a margin, κ the
// centering coefficient; derivatives with respect to r_c and r_r.
// KTO (`kto_loss`), per unpaired example with r = π − ref and z₀ a constant reference
// point (`kto_reference_point`: the mean of π − ref over mismatched prompt/completion
// pairs, clamped at 0, and not differentiated, as KTO detaches it):
//   desirable    λ_D·(1 − σ(β(r − z₀)))      undesirable  λ_U·(1 − σ(β(z₀ − r)))
// GRPO (`group_advantages`, `grpo_token_loss`), per completion token with policy, old
// (rollout) and reference log-probs π, π_old, π_ref and the sequence's advantage A:
//   A_i = (R_i − mean(R)) / (std(R) + ε_A) within each group, std with n−1
//   ρ = exp(π − π_old)
//   loss = −min(ρ·A, clip(ρ, 1−ε_low, 1+ε_high)·A) + β·k3,  k3 = e^(π_ref−π) − (π_ref−π) − 1
//   so ∂/∂π = −ρ·A where the unclipped term is the smaller (0 where clipped) + β·(1 − e^(π_ref−π)).
//   ρ is formed directly: π − π_old is a difference of token log-probs, far below exp's 709.
//   How token losses are averaged (per sequence then per group, as the paper, or over
//   all tokens) is the caller's choice.
//
// Everything is in double and stable for extreme inputs (βΔ = ±1000, ℓ = 0 for ORPO).
#include <cstdint>
#include <span>
#include <vector>

namespace whet {

// The summed completion log-probs of a pair. SimPO and ORPO ignore the reference.
struct PairLogps {
  double chosen = 0, rejected = 0;
  double ref_chosen = 0, ref_rejected = 0;
  int64_t chosen_tokens = 1, rejected_tokens = 1;
};

enum class PreferenceLoss { Sigmoid, Robust, Hinge, Ipo, Simpo, Orpo };

// Defaults are TRL's.
struct PreferenceSettings {
  double beta = 0.1;             // β (τ in IPO); KTO's β too
  double label_smoothing = 0.0;  // ε of Sigmoid, Robust and Simpo
  double simpo_gamma = 0.5;      // γ, SimPO's target margin
  double orpo_lambda = 0.1;      // λ, weight of ORPO's odds-ratio term
  double rpo_alpha = 0.0;        // α of RPO: the DPO-family losses gain α·(−π_c/|c|), the chosen NLL
  double kto_desirable_weight = 1.0;    // λ_D
  double kto_undesirable_weight = 1.0;  // λ_U
};

// One pair's loss, its derivatives with respect to the policy's summed log-probs
// (for Bradley–Terry: the rewards), and the implicit rewards TRL logs:
// β(π − ref) for DPO, Robust and Hinge; the same on mean log-probs for IPO;
// β·π/|·| for SimPO; λ·π/|·| for ORPO; the scalar rewards for Bradley–Terry.
struct PairLoss {
  double loss = 0;
  double d_chosen = 0, d_rejected = 0;
  double reward_chosen = 0, reward_rejected = 0;
  double nll = 0;             // ORPO, and RPO when rpo_alpha > 0: −π_c/|c|
  double log_odds_ratio = 0;  // ORPO: O_c − O_r
};

PairLoss pair_loss(PreferenceLoss kind, const PairLogps& logps, const PreferenceSettings& settings);

PairLoss reward_pair_loss(double reward_chosen, double reward_rejected, double margin, double center_coefficient);

// Means over a step's pairs of what TRL logs: rewards/chosen, rewards/rejected,
// rewards/margins, rewards/accuracies (reward_chosen > reward_rejected), logps/chosen,
// logps/rejected (the summed policy log-probs).
struct PreferenceMetrics {
  int64_t pairs = 0;
  double loss = 0, reward_chosen = 0, reward_rejected = 0, margin = 0, accuracy = 0;
  double logp_chosen = 0, logp_rejected = 0;
};
// Adds one pair into running means.
void add_pair(PreferenceMetrics& metrics, const PairLoss& pair, const PairLogps& logps);

// KTO: one unpaired example.
struct KtoExample {
  double logp = 0, ref_logp = 0;  // summed over the completion
  bool desirable = true;
};
struct KtoLoss {
  double loss = 0, d_logp = 0;
  double reward = 0;  // β(π − ref)
};
// z₀ = max(0, mean(policy − reference)) over the summed log-probs of mismatched
// pairs (each prompt with another example's completion); not empty, equal sizes.
double kto_reference_point(std::span<const double> policy_logps, std::span<const double> reference_logps);
KtoLoss kto_loss(const KtoExample& example, double z0, const PreferenceSettings& settings);

// GRPO. TRL's ε_A: with rewards {1, 0, 0, 0} (mean ¼, sample std ½) it gives
// advantages 0.75/0.5001 = 1.4997 and −0.25/0.5001 = −0.4999.
constexpr double kGrpoAdvantageEpsilon = 1e-4;

// Rewards of consecutive groups of group_size completions (group_size ≥ 2, the
// size a multiple of it) to advantages, in the same order.
std::vector<double> group_advantages(std::span<const double> rewards, int64_t group_size,
                                     double epsilon = kGrpoAdvantageEpsilon);

struct GrpoSettings {
  double clip_low = 0.2, clip_high = 0.2;  // ε_low, ε_high
  double beta = 0.0;                       // weight of the k3 KL to the reference; 0: off
};
struct GrpoTokenLoss {
  double loss = 0, d_logp = 0;
  double kl = 0;         // k3, reported whether or not β is 0
  bool clipped = false;  // the clipped term was the smaller: no gradient from the ratio
};
GrpoTokenLoss grpo_token_loss(double logp, double old_logp, double ref_logp, double advantage,
                              const GrpoSettings& settings);

// k3 = e^(ref−π) − (ref−π) − 1 ≥ 0, Schulman's unbiased low-variance estimator of KL(π‖ref).
double k3_kl(double logp, double ref_logp);

}  // namespace whet
