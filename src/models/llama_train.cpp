#include "models/llama_train.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "models/llama_block.h"

namespace whet {

namespace {

// Floats per position that one block keeps for its backward pass.
int64_t block_floats_per_token(const LlamaConfig& c, int rank) {
  const int64_t hidden = c.hidden_size, q_dim = int64_t(c.num_heads) * c.head_dim;
  const int64_t kv_dim = int64_t(c.num_kv_heads) * c.head_dim, ffn = c.intermediate_size;
  // x_in, h_attn, x_mid, h_ffn, proj | rstd x2 | q, att | k, v | lse | up, act | lora hidden
  const int64_t plain = 5 * hidden + 2 + 2 * q_dim + 2 * kv_dim + c.num_heads + 2 * ffn + int64_t(kProjections) * rank;
  // gate | LayerNorm's means
  const int64_t gate = c.gated_mlp ? ffn : 0, means = c.norm == NormKind::Layer ? 2 : 0;
  // q_raw, k_raw, their rstd | attn_raw, ffn_raw, their rstd
  const int64_t qk_norm = c.qk_norm ? q_dim + kv_dim + c.num_heads + c.num_kv_heads : 0;
  const int64_t sandwich = c.sandwich_norms ? 2 * hidden + 2 : 0;
  return plain + gate + means + qk_norm + sandwich;
}

// The floats of LlamaActivations::storage (the layout below): every kept block's
// activations, every checkpointed block's input, the last block's output and,
// with checkpointing, one block's worth to recompute into.
int64_t activation_storage_floats(const LlamaConfig& c, int64_t max_tokens, int rank, int checkpointed_blocks) {
  const int64_t per_block = block_floats_per_token(c, rank), k = checkpointed_blocks;
  const int64_t per_token = k * c.hidden_size + (c.num_layers - k) * per_block + c.hidden_size + (k > 0 ? per_block : 0);
  return per_token * max_tokens;
}

// Where layer `layer`'s input (its x_in, the residual stream entering it) lives:
// the checkpointed blocks' inputs first, one (t, hidden) slot each, then the
// other blocks' whole activations, x_in first; layer num_layers is the last
// block's output, the slot after them all.
float* block_input(LlamaActivations& acts, const LlamaConfig& c, int layer) {
  const int64_t k = acts.checkpointed_blocks;
  const int64_t slots = std::min<int64_t>(layer, k) * c.hidden_size +
                        std::max<int64_t>(0, layer - k) * block_floats_per_token(c, acts.lora_rank);
  return acts.storage.data() + slots * acts.max_tokens;
}

// One block's working storage for the checkpointed blocks, after the last block's output.
float* recompute_region(LlamaActivations& acts, const LlamaConfig& c) {
  return block_input(acts, c, c.num_layers) + int64_t(c.hidden_size) * acts.max_tokens;
}

// Carves layer `layer`'s views for t positions out of the activation storage: its
// own slots, or for a checkpointed block the recompute region (whose x_in slot
// then goes unused: the input is the block's kept one). x_out of a layer is x_in of the next.
BlockActivations block_views(LlamaActivations& acts, const LlamaConfig& c, int layer) {
  const bool recomputed = layer < acts.checkpointed_blocks;
  float* p = recomputed ? recompute_region(acts, c) : block_input(acts, c, layer);
  const int rank = acts.lora_rank;
  auto take = [&](int64_t width) {
    float* view = p;
    p += width * acts.max_tokens;
    return view;
  };
  const int64_t hidden = c.hidden_size, q_dim = int64_t(c.num_heads) * c.head_dim;
  const int64_t kv_dim = int64_t(c.num_kv_heads) * c.head_dim, ffn = c.intermediate_size;
  BlockActivations a;
  a.x_in = take(hidden);
  a.h_attn = take(hidden);
  a.x_mid = take(hidden);
  a.h_ffn = take(hidden);
  a.proj = take(hidden);
  a.rstd_attn = take(1);
  a.rstd_ffn = take(1);
  a.q = take(q_dim);
  a.att = take(q_dim);
  a.k = take(kv_dim);
  a.v = take(kv_dim);
  a.lse = take(c.num_heads);
  if (c.gated_mlp) a.gate = take(ffn);
  a.up = take(ffn);
  a.act = take(ffn);
  for (float*& hidden_view : a.lora_hidden) hidden_view = take(rank);
  if (c.norm == NormKind::Layer) {
    a.mean_attn = take(1);
    a.mean_ffn = take(1);
  }
  if (c.qk_norm) {
    a.q_raw = take(q_dim);
    a.k_raw = take(kv_dim);
    a.rstd_q = take(c.num_heads);
    a.rstd_k = take(c.num_kv_heads);
  }
  if (c.sandwich_norms) {
    a.attn_raw = take(hidden);
    a.ffn_raw = take(hidden);
    a.rstd_post_attn = take(1);
    a.rstd_post_ffn = take(1);
  }
  a.x_in = block_input(acts, c, layer);
  a.x_out = block_input(acts, c, layer + 1);
  return a;
}

BlockContext block_context(const LlamaModel& model, const TrainPass& pass, int layer, const TokenSequence& seq,
                           const BlockActivations& a) {
  const LlamaConfig& c = model.config;
  BlockContext ctx{&model, layer,
                   {AttentionSegment{AttentionShape{int64_t(seq.ids.size()), 0, c.num_heads, c.num_kv_heads,
                                                    c.head_dim, seq.segment_begin.data(),
                                                    seq.prefix_end.empty() ? nullptr : seq.prefix_end.data()},
                                     a.k, a.v}},
                   seq.positions.data()};
  ctx.bf16_products = pass.bf16_products;
  for (int p = 0; p < kProjections; ++p) {
    const uint64_t seed = pass.dropout_seed * 0x100000001b3ull + uint64_t(layer * kProjections + p);
    ctx.lora[p] = lora_view(pass.lora, pass.lora_grads, layer, Projection(p), pass.lora_dropout, seed);
    ctx.lora[p].bf16_products = pass.bf16_products;
  }
  return ctx;
}

// Embedding, blocks and final norm; returns each block's activations for the backward.
std::vector<BlockActivations> forward_trunk(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                                            const TokenSequence& seq) {
  const LlamaConfig& c = model.config;
  const int64_t t = int64_t(seq.ids.size());
  if (t > acts.max_tokens) fail("train", "sequence of {} tokens exceeds the {} the buffers hold", t, acts.max_tokens);
  WHET_ASSERT(seq.targets.size() == seq.ids.size() && seq.positions.size() == seq.ids.size() &&
              seq.segment_begin.size() == seq.ids.size() &&
              (seq.prefix_end.empty() || seq.prefix_end.size() == seq.ids.size()));
  for (int32_t token : seq.ids)
    if (token < 0 || token >= c.vocab_size) fail("train", "token id {} outside the vocabulary of {}", token, c.vocab_size);
  // The views are laid out for the rank the buffers were made for; a smaller adapter's rows fit in them.
  WHET_ASSERT(!pass.lora || pass.lora->config.rank <= acts.lora_rank);

  std::vector<BlockActivations> blocks;
  for (int layer = 0; layer < c.num_layers; ++layer) blocks.push_back(block_views(acts, c, layer));
  embed_tokens(model, seq.ids.data(), seq.positions.data(), t, blocks[0].x_in);
  for (int layer = 0; layer < c.num_layers; ++layer)
    llama_block_forward(block_context(model, pass, layer, seq, blocks[layer]), blocks[layer]);
  // The recompute region holds the last checkpointed block's activations.
  acts.resident_block = acts.checkpointed_blocks - 1;
  const float* x_final = blocks.back().x_out;
  norm_forward(c, acts.final_norm_out.data(), acts.final_mean.data(), acts.final_rstd.data(), x_final,
               model.weights.final_norm, model.weights.final_norm_bias, t);
  return blocks;
}

// A checkpointed block's forward again, from its kept input into the recompute
// region: the same kernels on the same input and the same dropout seeds, so the
// same values. Its output, the next block's kept input, is written to the
// region's unused x_in slot instead, leaving the kept one as it was.
void recompute_block(const BlockContext& ctx, LlamaActivations& acts, const BlockActivations& a) {
  const LlamaConfig& c = ctx.model->config;
  BlockActivations again = a;
  again.x_out = recompute_region(acts, c);
  llama_block_forward(ctx, again);
  acts.resident_block = ctx.layer;
}

// From d(final norm output) in acts.dx back through the blocks into the gradients of what trains.
void backward_trunk(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts, const TokenSequence& seq,
                    std::vector<BlockActivations>& blocks) {
  const LlamaConfig& c = model.config;
  const int64_t t = int64_t(seq.ids.size()), hidden = c.hidden_size;
  LlamaWeights* grads = pass.grads;
  float* dx = acts.dx.data();
  const float* x_final = blocks.back().x_out;
  // Turn d(final norm output) into d(x_final) in place via a scratch copy.
  std::vector<float> d_norm_out(acts.dx.begin(), acts.dx.begin() + t * hidden);
  norm_backward(c, dx, grads ? grad_data(grads->final_norm) : nullptr, grads ? grad_data(grads->final_norm_bias) : nullptr,
                d_norm_out.data(), x_final, model.weights.final_norm, acts.final_mean.data(), acts.final_rstd.data(), t);
  BlockGradScratch scratch(c, t);
  for (int layer = c.num_layers - 1; layer >= 0; --layer) {
    const BlockContext ctx = block_context(model, pass, layer, seq, blocks[layer]);
    if (layer < acts.checkpointed_blocks && acts.resident_block != layer) recompute_block(ctx, acts, blocks[layer]);
    llama_block_backward(ctx, blocks[layer], dx, grads ? &grads->layers[layer] : nullptr, scratch);
    if (pass.after_block_backward) pass.after_block_backward(layer);
  }
  if (grads) embed_tokens_backward(model, *grads, dx, seq.ids.data(), seq.positions.data(), t);
}

// The teacher of distillation: the final hidden states of the base alone (no
// adapter, no dropout), copied out before the student's forward reuses acts. Its
// attention multiplies as the student's does, so that before the adapter learns
// anything the two agree exactly and distillation pulls nowhere.
std::vector<float> base_hidden_states(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                                      const TokenSequence& seq) {
  if (pass.grads) fail("train", "distillation from the base needs a frozen base (method lora)");
  TrainPass teacher;
  teacher.bf16_products = pass.bf16_products;
  forward_trunk(model, teacher, acts, seq);
  return {acts.final_norm_out.begin(), acts.final_norm_out.begin() + int64_t(seq.ids.size()) * model.config.hidden_size};
}

CrossEntropyResult run(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts, const TokenSequence& seq,
                       float grad_scale, bool backward, const RowTerms& rows) {
  const bool distilling = pass.distill_temperature > 0;
  const std::vector<float> teacher = distilling ? base_hidden_states(model, pass, acts, seq) : std::vector<float>{};
  std::vector<BlockActivations> blocks = forward_trunk(model, pass, acts, seq);
  LlamaWeights* grads = pass.grads;
  const HeadDistillation distill{distilling ? teacher.data() : nullptr, pass.distill_temperature,
                                 pass.distill_grad_scale};
  const CrossEntropyResult result =
      lm_head_cross_entropy(backward ? acts.dx.data() : nullptr, grads ? grad_data(grads->lm_head) : nullptr,
                            acts.final_norm_out.data(), seq.targets.data(), int64_t(seq.ids.size()),
                            model.weights.lm_head, grad_scale, distill, rows, model.config.final_logit_softcap);
  if (backward) backward_trunk(model, pass, acts, seq, blocks);
  return result;
}

// The LM head's loss over each group of rows: with dh, the row gradients at
// grad_scales[k] (dh rows of every group written), with dweight also the head's.
std::vector<CrossEntropyResult> group_head(float* dh, float* dweight, const LlamaModel& model, LlamaActivations& acts,
                                           const TokenSequence& seq, std::span<const int64_t> row_ends,
                                           std::span<const float> grad_scales) {
  const int64_t c = model.config.hidden_size;
  // The head would decode a quantized head once per group: decode it once here.
  const Weight& w = model.weights.lm_head;
  const Weight head = w.dtype == DType::F32 || w.dtype == DType::BF16 ? w : convert_weight(w, DType::F32);
  std::vector<CrossEntropyResult> losses;
  int64_t begin = 0;
  for (size_t k = 0; k < row_ends.size(); ++k) {
    const int64_t end = row_ends[k];
    losses.push_back(lm_head_cross_entropy(dh ? dh + begin * c : nullptr, dweight,
                                           acts.final_norm_out.data() + begin * c, seq.targets.data() + begin,
                                           end - begin, head, grad_scales.empty() ? 1.0f : grad_scales[k], {}, {},
                                           model.config.final_logit_softcap));
    begin = end;
  }
  return losses;
}

void check_groups(const TokenSequence& seq, std::span<const int64_t> row_ends) {
  WHET_ASSERT(!row_ends.empty() && row_ends.back() == int64_t(seq.ids.size()) &&
              std::is_sorted(row_ends.begin(), row_ends.end()));
}

// dh rows of group k times scales[k].
void scale_groups(float* dh, int64_t hidden, std::span<const int64_t> row_ends, std::span<const float> scales) {
  int64_t begin = 0;
  for (size_t k = 0; k < row_ends.size(); ++k) {
    for (int64_t i = begin * hidden; i < row_ends[k] * hidden; ++i) dh[i] *= scales[k];
    begin = row_ends[k];
  }
}

}  // namespace

std::vector<CrossEntropyResult> llama_forward_backward_grouped(const LlamaModel& model, const TrainPass& pass,
                                                               LlamaActivations& acts, const TokenSequence& seq,
                                                               std::span<const int64_t> row_ends,
                                                               const GroupScales& scales) {
  WHET_ASSERT(pass.distill_temperature == 0.0f);
  check_groups(seq, row_ends);
  std::vector<BlockActivations> blocks = forward_trunk(model, pass, acts, seq);
  float* head_grad = pass.grads ? grad_data(pass.grads->lm_head) : nullptr;
  // A frozen head: row gradients at scale 1 now, scaled once the losses decide.
  const std::vector<CrossEntropyResult> losses =
      group_head(head_grad ? nullptr : acts.dx.data(), nullptr, model, acts, seq, row_ends, {});
  const std::vector<float> group_scales = scales(losses);
  WHET_ASSERT(group_scales.size() == row_ends.size());
  // Every scale 0 (a hinge past its margin): no gradient to carry back.
  if (std::all_of(group_scales.begin(), group_scales.end(), [](float s) { return s == 0.0f; })) return losses;
  if (head_grad)
    group_head(acts.dx.data(), head_grad, model, acts, seq, row_ends, group_scales);
  else
    scale_groups(acts.dx.data(), model.config.hidden_size, row_ends, group_scales);
  backward_trunk(model, pass, acts, seq, blocks);
  return losses;
}

std::vector<CrossEntropyResult> llama_group_losses(const LlamaModel& model, const LlamaLora* lora,
                                                   LlamaActivations& acts, const TokenSequence& seq,
                                                   std::span<const int64_t> row_ends) {
  check_groups(seq, row_ends);
  TrainPass pass;
  pass.lora = lora;
  forward_trunk(model, pass, acts, seq);
  return group_head(nullptr, nullptr, model, acts, seq, row_ends, {});
}

LlamaActivations::LlamaActivations(const LlamaConfig& c, int64_t max_tokens_, int lora_rank_, int checkpointed_blocks_)
    : max_tokens(max_tokens_),
      lora_rank(lora_rank_),
      checkpointed_blocks(std::clamp(checkpointed_blocks_, 0, c.num_layers)),
      storage(size_t(activation_storage_floats(c, max_tokens_, lora_rank_, checkpointed_blocks))),
      final_norm_out(size_t(c.hidden_size * max_tokens_)),
      final_mean(size_t(max_tokens_)),
      final_rstd(size_t(max_tokens_)),
      dx(size_t(c.hidden_size * max_tokens_)) {}

int64_t llama_activation_bytes(const LlamaConfig& c, int64_t max_tokens, int lora_rank, int checkpointed_blocks) {
  const int64_t k = std::clamp(checkpointed_blocks, 0, c.num_layers), hidden = c.hidden_size;
  // final_norm_out, dx and backward_trunk's copy of d(final norm output); the final norm's statistics
  const int64_t around_blocks = 3 * hidden * max_tokens + 2 * max_tokens;
  return 4 * (activation_storage_floats(c, max_tokens, lora_rank, k) + around_blocks +
              BlockGradScratch::floats(c, max_tokens)) +
         block_bf16_scratch_bytes(c, max_tokens);
}

LlamaWeights make_gradients(const LlamaModel& model, const std::function<bool(const std::string&)>& trainable) {
  LlamaWeights grads = model.weights;
  for_each_weight(grads, model.config, [&](const std::string& name, Weight& g) {
    g.dtype = DType::F32;
    if (!trainable(name)) {
      g.data = nullptr;
      g.storage = nullptr;
      return;
    }
    auto bytes = std::make_shared<std::vector<float, HugePageAllocator<float>>>(size_t(g.numel()), 0.0f);
    g.data = reinterpret_cast<const uint8_t*>(bytes->data());
    g.storage = std::move(bytes);
  });
  if (model.config.tie_word_embeddings) grads.lm_head = grads.embed;
  return grads;
}

CrossEntropyResult llama_forward_backward(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                                          const TokenSequence& seq, float grad_scale, const RowTerms& rows) {
  return run(model, pass, acts, seq, grad_scale, /*backward=*/true, rows);
}

CrossEntropyResult llama_loss(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                              const TokenSequence& seq, const RowTerms& rows) {
  TrainPass pass;
  pass.lora = lora;
  return run(model, pass, acts, seq, 0.0f, /*backward=*/false, rows);
}

namespace {

// One example alone: positions from 0, no targets, one attention segment.
struct SingleExample {
  std::vector<int32_t> no_targets, positions, segment_begin;
  TokenSequence seq;
  SingleExample(const SingleExample&) = delete;  // seq points into the members
  explicit SingleExample(std::span<const int32_t> ids)
      : no_targets(ids.size(), -1), positions(ids.size()), segment_begin(ids.size(), 0) {
    std::iota(positions.begin(), positions.end(), 0);
    seq = TokenSequence{ids, no_targets, positions, segment_begin};
  }
};

}  // namespace

std::vector<float> llama_pooled_hidden(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                                       std::span<const int32_t> ids, Pooling pooling) {
  const SingleExample example(ids);
  TrainPass pass;
  pass.lora = lora;
  forward_trunk(model, pass, acts, example.seq);
  return pool_hidden(acts.final_norm_out.data(), int64_t(ids.size()), model.config.hidden_size, pooling);
}

ClassifierHeadResult llama_classify(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                                    std::span<const int32_t> ids, const ClassifierPass& head, float grad_scale) {
  const int64_t t = int64_t(ids.size());
  const SingleExample example(ids);
  const TokenSequence& seq = example.seq;
  std::vector<BlockActivations> blocks = forward_trunk(model, pass, acts, seq);
  const bool backward = head.label >= 0 && grad_scale != 0.0f;
  const ClassifierHeadResult result =
      classifier_head(backward ? acts.dx.data() : nullptr, head.dweight, head.dbias, acts.final_norm_out.data(), t,
                      model.config.hidden_size, head.weight, head.bias, head.labels, head.pooling, head.label,
                      grad_scale);
  if (backward && (pass.grads || pass.lora_grads)) backward_trunk(model, pass, acts, seq, blocks);
  return result;
}

double llama_score(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                   std::span<const int32_t> ids, const ClassifierPass& head, float grad_scale) {
  WHET_ASSERT(head.labels == 1);
  const SingleExample example(ids);
  std::vector<BlockActivations> blocks = forward_trunk(model, pass, acts, example.seq);
  const bool backward = grad_scale != 0.0f && (pass.grads || pass.lora_grads);
  const double score = score_head(backward ? acts.dx.data() : nullptr, head.dweight, head.dbias,
                                  acts.final_norm_out.data(), int64_t(ids.size()), model.config.hidden_size,
                                  head.weight, head.bias, head.pooling, grad_scale);
  if (backward) backward_trunk(model, pass, acts, example.seq, blocks);
  return score;
}

}  // namespace whet
