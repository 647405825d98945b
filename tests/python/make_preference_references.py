#!/usr/bin/python3
"""PyTorch references for the preference and RL losses of src/train/preference_loss.h,
checked by tests/train/test_preference_loss.cpp.

Writes OUT/preference_losses.json:
  pairs    random summed log-probs for each pair loss (sigmoid/cDPO, robust, hinge,
           IPO, SimPO, ORPO) under several settings: loss, d(loss)/d(policy chosen),
           d(loss)/d(policy rejected), and the logged rewards
  reward   Bradley–Terry on random scalar rewards with margins and centering
  kto      z0 from random mismatched pairs, then per example loss and d(loss)/d(policy)
  grpo     group advantages of random rewards, and per token loss and
           d(loss)/d(policy token log-prob) with and without the k3 KL term

Each loss is written here from its formula with torch ops in float64, and every
derivative comes from autograd.
"""
import argparse
import json
import os

import torch
import torch.nn.functional as F


def normalised(logp, tokens):
    return logp / tokens


def smoothed_logistic(u, eps):
    return -(1 - eps) * F.logsigmoid(u) - eps * F.logsigmoid(-u)


def pair_loss(kind, p, s):
    """The loss and the two rewards TRL logs, as tensors of the policy log-probs p['chosen'], p['rejected'];
    with rpo_alpha, the DPO family also adds the chosen answer's NLL per token (TRL's RPO)."""
    loss, rewards = preference_term(kind, p, s)
    if kind in ("sigmoid", "robust", "hinge", "ipo") and s.get("rpo_alpha", 0) > 0:
        loss = loss + s["rpo_alpha"] * -(p["chosen"] / p["chosen_tokens"])
    return loss, rewards


def preference_term(kind, p, s):
    beta, eps = s["beta"], s["label_smoothing"]
    c, r, rc, rr = p["chosen"], p["rejected"], p["ref_chosen"], p["ref_rejected"]
    nc, nr = p["chosen_tokens"], p["rejected_tokens"]
    if kind in ("sigmoid", "robust", "hinge"):
        logits = (c - rc) - (r - rr)
        rewards = (beta * (c - rc), beta * (r - rr))
        if kind == "sigmoid":
            return smoothed_logistic(beta * logits, eps), rewards
        if kind == "robust":
            return ((1 - eps) * -F.logsigmoid(beta * logits) + eps * F.logsigmoid(-beta * logits)) / (1 - 2 * eps), rewards
        return torch.relu(1 - beta * logits), rewards
    if kind == "ipo":
        c, r, rc, rr = normalised(c, nc), normalised(r, nr), normalised(rc, nc), normalised(rr, nr)
        logits = (c - rc) - (r - rr)
        return (logits - 1 / (2 * beta)) ** 2, (beta * (c - rc), beta * (r - rr))
    if kind == "simpo":
        c, r = normalised(c, nc), normalised(r, nr)
        return smoothed_logistic(beta * (c - r) - s["simpo_gamma"], eps), (beta * c, beta * r)
    if kind == "orpo":
        c, r = normalised(c, nc), normalised(r, nr)
        log_odds = (c - r) - (torch.log(-torch.expm1(c)) - torch.log(-torch.expm1(r)))
        lam = s["orpo_lambda"]
        return -c - lam * F.logsigmoid(log_odds), (lam * c, lam * r)
    raise ValueError(kind)


SETTINGS = {
    "sigmoid": [dict(beta=0.1, label_smoothing=0.0), dict(beta=0.5, label_smoothing=0.1),
                dict(beta=0.05, label_smoothing=0.3), dict(beta=0.1, label_smoothing=0.0, rpo_alpha=1.0)],
    "robust": [dict(beta=0.1, label_smoothing=0.1), dict(beta=0.5, label_smoothing=0.3)],
    "hinge": [dict(beta=0.1, label_smoothing=0.0), dict(beta=0.5, label_smoothing=0.0)],
    "ipo": [dict(beta=0.1, label_smoothing=0.0), dict(beta=1.0, label_smoothing=0.0, rpo_alpha=0.5)],
    "simpo": [dict(beta=2.0, label_smoothing=0.0, simpo_gamma=0.5), dict(beta=2.5, label_smoothing=0.1, simpo_gamma=1.2)],
    "orpo": [dict(beta=0.1, label_smoothing=0.0, orpo_lambda=0.1), dict(beta=0.1, label_smoothing=0.0, orpo_lambda=1.0)],
}
PAIRS_PER_SETTING = 12


def random_pair(g):
    """Summed log-probs of completions of 2 to 40 tokens, mean per token in (−3, −0.01),
    the reference within a few nats of the policy."""
    def one():
        tokens = int(torch.randint(2, 41, (1,), generator=g))
        mean = -0.01 - 3 * torch.rand(1, generator=g, dtype=torch.float64).item()
        logp = mean * tokens
        ref = logp + 3 * torch.randn(1, generator=g, dtype=torch.float64).item()
        return logp, min(ref, -1e-3), tokens
    c, rc, nc = one()
    r, rr, nr = one()
    return dict(chosen=c, rejected=r, ref_chosen=rc, ref_rejected=rr, chosen_tokens=nc, rejected_tokens=nr)


def make_pairs(g):
    cases = []
    for kind, settings in SETTINGS.items():
        for s in settings:
            for _ in range(PAIRS_PER_SETTING):
                p = random_pair(g)
                c = torch.tensor(p["chosen"], dtype=torch.float64, requires_grad=True)
                r = torch.tensor(p["rejected"], dtype=torch.float64, requires_grad=True)
                loss, (reward_c, reward_r) = pair_loss(kind, dict(p, chosen=c, rejected=r), s)
                loss.backward()
                cases.append(dict(kind=kind, settings=s, logps=p, loss=loss.item(), d_chosen=c.grad.item(),
                                  d_rejected=r.grad.item(), reward_chosen=reward_c.item(),
                                  reward_rejected=reward_r.item()))
    return cases


def make_reward(g):
    cases = []
    for margin, center in [(0.0, 0.0), (0.5, 0.0), (0.0, 0.01), (1.0, 0.1)]:
        for _ in range(8):
            rewards = (4 * torch.randn(2, generator=g, dtype=torch.float64)).requires_grad_(True)
            loss = -F.logsigmoid(rewards[0] - rewards[1] - margin) + center * (rewards[0] + rewards[1]) ** 2
            loss.backward()
            cases.append(dict(reward_chosen=rewards[0].item(), reward_rejected=rewards[1].item(), margin=margin,
                              center_coefficient=center, loss=loss.item(), d_chosen=rewards.grad[0].item(),
                              d_rejected=rewards.grad[1].item()))
    return cases


def make_kto(g):
    kl_policy = -40 * torch.rand(16, generator=g, dtype=torch.float64)
    kl_reference = kl_policy - 0.5 + torch.randn(16, generator=g, dtype=torch.float64)
    z0 = torch.clamp((kl_policy - kl_reference).mean(), min=0).item()
    cases = []
    for beta, desirable_weight, undesirable_weight in [(0.1, 1.0, 1.0), (0.5, 1.0, 1.33), (2.0, 0.7, 1.0)]:
        for i in range(12):
            desirable = i % 2 == 0
            logp = (-60 * torch.rand(1, generator=g, dtype=torch.float64)).requires_grad_(True)
            ref = logp.detach() + 4 * torch.randn(1, generator=g, dtype=torch.float64)
            ratio = logp - ref
            if desirable:
                loss = desirable_weight * (1 - torch.sigmoid(beta * (ratio - z0)))
            else:
                loss = undesirable_weight * (1 - torch.sigmoid(beta * (z0 - ratio)))
            loss.backward()
            cases.append(dict(beta=beta, desirable_weight=desirable_weight, undesirable_weight=undesirable_weight,
                              logp=logp.item(), ref_logp=ref.item(), desirable=desirable, loss=loss.item(),
                              d_logp=logp.grad.item(), reward=(beta * ratio).item()))
    return dict(kl_policy=kl_policy.tolist(), kl_reference=kl_reference.tolist(), z0=z0, examples=cases)


def make_grpo(g):
    group_size, groups = 6, 4
    rewards = torch.rand(groups, group_size, generator=g, dtype=torch.float64).round(decimals=1)
    rewards[1] = torch.tensor([1.0, 0, 0, 1, 0, 0])  # a grader's pass/fail rewards
    std = rewards.std(dim=1, keepdim=True)  # unbiased: n − 1
    advantages = ((rewards - rewards.mean(dim=1, keepdim=True)) / (std + 1e-4)).flatten()
    tokens = []
    for clip_low, clip_high, beta in [(0.2, 0.2, 0.0), (0.2, 0.28, 0.04)]:
        for a in advantages.tolist():
            for _ in range(3):
                logp = (-0.01 - 5 * torch.rand(1, generator=g, dtype=torch.float64)).requires_grad_(True)
                old = logp.detach() + 0.3 * torch.randn(1, generator=g, dtype=torch.float64)
                ref = logp.detach() + 0.5 * torch.randn(1, generator=g, dtype=torch.float64)
                ratio = torch.exp(logp - old)
                surrogate = torch.min(ratio * a, torch.clamp(ratio, 1 - clip_low, 1 + clip_high) * a)
                kl = torch.exp(ref - logp) - (ref - logp) - 1
                loss = -surrogate + beta * kl
                loss.backward()
                tokens.append(dict(logp=logp.item(), old_logp=old.item(), ref_logp=ref.item(), advantage=a,
                                   clip_low=clip_low, clip_high=clip_high, beta=beta, loss=loss.item(),
                                   d_logp=logp.grad.item(), kl=kl.item()))
    return dict(group_size=group_size, rewards=rewards.flatten().tolist(), advantages=advantages.tolist(),
                tokens=tokens)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="the reference directory (make_references.sh's OUT)")
    args = parser.parse_args()
    g = torch.Generator().manual_seed(1600)
    reference = dict(pairs=make_pairs(g), reward=make_reward(g), kto=make_kto(g), grpo=make_grpo(g))
    with open(os.path.join(args.out, "preference_losses.json"), "w") as f:
        json.dump(reference, f)
    print(f"make_preference_references: {len(reference['pairs'])} pairs, {len(reference['grpo']['tokens'])} "
          f"GRPO tokens in {args.out}")


if __name__ == "__main__":
    main()
