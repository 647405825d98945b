#pragma once
// How surprising a prompt is to a model: its perplexity, exp of the mean
// negative log-probability of each token after the first given those before
// it, under the base model without any adapter. The drift monitor measures
// training prompts and a sample of production prompts with it, a chunk at a
// time, each run on the engine's thread while the engine has no requests, so
// that answers wait at most one chunk for it.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "models/model_loader.h"

namespace whet::serve {

// Tokens run per forward pass: the longest a request can wait for the scorer to yield.
inline constexpr size_t kScoringChunk = 64;

// Runs `chunk` when the engine has nothing else to do; false when it never will (the server is stopping).
using RunWhenIdle = std::function<bool(const std::function<void()>& chunk)>;

// nullopt for a prompt of fewer than two tokens (nothing is predicted), or when
// `run_when_idle` gave up (the server is stopping).
std::optional<double> prompt_perplexity(const LoadedModel& model, std::span<const int32_t> tokens,
                                        const RunWhenIdle& run_when_idle);

}  // namespace whet::serve
