#pragma once
// Training passes of the Llama family: the forward pass that keeps what the
// backward needs, the fused LM-head loss, and the backward into the gradients
// of whatever trains (base weights, a LoRA adapter, or both).
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/huge_pages.h"
#include "kernels/classifier_head.h"
#include "kernels/cross_entropy.h"
#include "models/llama.h"
#include "models/lora_adapter.h"

namespace whet {

// One training sequence (all spans of one length): positions restart and
// segment_begin moves at each packed example; a negative target has no loss.
// prefix_end, when not empty, lets position i also see positions [0, prefix_end[i])
// (AttentionShape::prefix_end): a second answer continuing a shared prompt.
struct TokenSequence {
  std::span<const int32_t> ids, targets, positions, segment_begin;
  std::span<const int32_t> prefix_end = {};
};

// Buffers for the forward and backward of sequences up to max_tokens and an
// adapter of rank up to lora_rank, allocated once.
//
// Activation checkpointing: the first checkpointed_blocks blocks keep only their
// input (the residual stream entering them) through the forward and share one
// block's worth of storage; the backward recomputes each one's forward from its
// input just before its backward. The recomputation runs the same kernels on the
// same values with the same dropout seeds, so the gradients are bit-identical
// with and without; it costs one block forward per checkpointed block but the
// last (whose activations are still there when the backward reaches it).
struct LlamaActivations {
  int64_t max_tokens = 0;
  int lora_rank = 0;
  int checkpointed_blocks = 0;  // at most the model's layers
  int resident_block = -1;      // the checkpointed block whose activations the shared storage holds
  std::vector<float, HugePageAllocator<float>> storage;  // every layer's BlockActivations live here
  std::vector<float> final_norm_out, final_mean, final_rstd, dx;
  LlamaActivations(const LlamaConfig& c, int64_t max_tokens, int lora_rank, int checkpointed_blocks = 0);
};

// Bytes of LlamaActivations(c, max_tokens, lora_rank, checkpointed_blocks) and of the
// scratch its backward adds (the blocks' gradient buffers): the memory estimates' activations.
int64_t llama_activation_bytes(const LlamaConfig& c, int64_t max_tokens, int lora_rank, int checkpointed_blocks);

// Gradient buffers shaped like the model's weights (fp32, zeroed); a weight for
// which trainable(gguf_name) is false gets none (null data). Tied embeddings share one.
LlamaWeights make_gradients(const LlamaModel& model, const std::function<bool(const std::string&)>& trainable);

struct TrainPass {
  const LlamaLora* lora = nullptr;  // adapter applied (null: none)
  LlamaLora* lora_grads = nullptr;  // its gradients (null: the adapter is frozen)
  LlamaWeights* grads = nullptr;    // base weight gradients (null: the base is frozen)
  float lora_dropout = 0.0f;
  uint64_t dropout_seed = 0;        // a new one per step keeps dropout masks independent
  // Distillation from the base, the same weights with the adapter off (so only
  // with grads null): T²·KL(p_base ‖ p_model) on every row with a target, its
  // gradient scaled by distill_grad_scale. Off while distill_temperature is 0.
  float distill_temperature = 0.0f;
  float distill_grad_scale = 0.0f;
  // Attention, and a LoRA adapter's products over long inner dimensions, multiply in
  // bf16 in the layers whose weights are bf16 (kernels/attention.h, kernels/lora.cpp).
  // Supervised runs only: with bf16 attention, GRPO's rewards on the real model ended
  // at 0.50 and 0.74 in two runs where fp32 attention reached 0.89, and with the
  // adapter's products in bf16 at 0.61 (tests/train/test_real_model_grpo.cpp).
  bool bf16_products = false;
  // Called after each block's backward (last block first) once it has added its
  // gradients: data-parallel training starts their allreduce while lower blocks still run.
  std::function<void(int layer)> after_block_backward;
};

// Forward, loss and backward of one sequence: gradients of grad_scale · Σ loss
// (plus pass.distill_grad_scale · Σ distillation loss, when distilling) are
// added (+=) to what pass names. Returns the summed losses and target count.
// `rows` (indexed by position in seq) weighs each token's loss and hears each
// token's −log p (kernels/cross_entropy.h).
CrossEntropyResult llama_forward_backward(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                                          const TokenSequence& seq, float grad_scale, const RowTerms& rows = {});
// Rows [row_ends[k-1], row_ends[k]) of a sequence are group k (row_ends ends at
// its length): losses weighted per group, such as a preference pair's answers
// sharing one sequence. Given each group's summed loss, GroupScales returns the
// scale of each group's gradient.
using GroupScales = std::function<std::vector<float>(std::span<const CrossEntropyResult> group_losses)>;

// One forward and one backward whose gradients are those of Σ_k scale_k · (group
// k's summed loss), added (+=) to what pass names, with the scales decided from
// the forward's losses: the LM head's row gradients are made at scale 1 and
// scaled per group before the blocks' backward (a head that trains runs its
// forward again with the scales, since its own gradient needs them first).
// Returns each group's losses. No distillation.
std::vector<CrossEntropyResult> llama_forward_backward_grouped(const LlamaModel& model, const TrainPass& pass,
                                                               LlamaActivations& acts, const TokenSequence& seq,
                                                               std::span<const int64_t> row_ends,
                                                               const GroupScales& scales);
// Each group's losses only (evaluation): no gradients, no dropout.
std::vector<CrossEntropyResult> llama_group_losses(const LlamaModel& model, const LlamaLora* lora,
                                                   LlamaActivations& acts, const TokenSequence& seq,
                                                   std::span<const int64_t> row_ends);

// A sequence-classification head in place of the LM head (kernels/classifier_head.h).
struct ClassifierPass {
  const float* weight = nullptr;  // (labels, hidden)
  const float* bias = nullptr;    // (labels)
  int labels = 0;
  Pooling pooling = Pooling::Last;
  float* dweight = nullptr;  // += gradients; null: the head is frozen
  float* dbias = nullptr;
  int32_t label = -1;  // the right label; -1: prediction only
};

// One example (positions from 0) through the model and the classification head:
// label probabilities, and with a label and a non-zero grad_scale, gradients of
// grad_scale · loss added to the head's and to what pass names.
ClassifierHeadResult llama_classify(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                                    std::span<const int32_t> ids, const ClassifierPass& head, float grad_scale);

// A reward model's score of one example (positions from 0) through the model
// and a one-output head; with a non-zero grad_scale, gradients of
// grad_scale · score added to the head's (where its pass names buffers) and to what pass names.
double llama_score(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                   std::span<const int32_t> ids, const ClassifierPass& head, float grad_scale);

// The pooled final hidden state of one example: what a classification head
// reads, computed once when the model under it is frozen.
std::vector<float> llama_pooled_hidden(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                                       std::span<const int32_t> ids, Pooling pooling);

// Loss only (evaluation): no gradients, no dropout. rows.losses, when set, hears each token's −log p.
CrossEntropyResult llama_loss(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                              const TokenSequence& seq, const RowTerms& rows = {});

}  // namespace whet
