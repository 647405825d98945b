#include "kernels/attention.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/phase_timer.h"
#include "kernels/bf16_tiles.h"
#include "kernels/gemm.h"
#include "kernels/quant.h"
#include "kernels/row_max.h"
#include "kernels/softcap.h"
#include "kernels/transpose_16x16.h"
#include "kernels/vector_exp.h"

#pragma GCC push_options
#pragma GCC target("prefer-vector-width=512")

namespace whet {

namespace {

// Query rows per tile: a tile's scores are kQueryTile x (keys it sees), so the
// full t x t score matrix never exists, while each tile is big enough for gemm.
constexpr int64_t kQueryTile = 64;

struct Layout {
  int64_t group, q_stride, kv_stride;
  float scale;
  explicit Layout(const AttentionShape& s)
      : group(s.heads / s.kv_heads),
        q_stride(s.heads * s.head_dim),
        kv_stride(s.kv_heads * s.head_dim),
        scale(s.scale > 0 ? s.scale : 1.0f / std::sqrt(float(s.head_dim))) {}
};

int64_t first_key(const AttentionShape& s, int64_t i) { return s.segment_begin ? s.segment_begin[i] : 0; }
int64_t prefix_keys(const AttentionShape& s, int64_t i) { return s.prefix_end ? s.prefix_end[i] : 0; }

// The keys query i sees, before its tile lays them out: prefix [prefix_begin,
// prefix_end) and segment [segment_begin, own], the window cutting both from below.
// A prefix key j stands (own − segment start) + (prefix end − j) positions back.
struct VisibleKeys {
  int64_t prefix_begin, prefix_end, segment_begin, own;
};

VisibleKeys visible_keys(const AttentionShape& s, int64_t i) {
  const int64_t own = s.start + i, segment = first_key(s, i), prefix = prefix_keys(s, i);
  if (s.window <= 0) return {0, prefix, segment, own};
  const int64_t into_segment = own - segment;
  return {std::clamp<int64_t>(prefix - (s.window - 1 - into_segment), 0, prefix), prefix,
          std::max(segment, own - s.window + 1), own};
}

// Query rows [begin, end) of one head and the keys any of them sees, as at most
// two ranges: a prefix [0, prefix_end) that some rows also see, and the segments
// [key_begin, key_end). Segment starts never decrease along a sequence, so the
// first row's is the least. A tile's score columns are the prefix's keys, then
// the segments': keys between the two (a preference pair's first answer, for
// its second) cost nothing.
struct Tile {
  int64_t head, begin, end, prefix_end, key_begin, key_end;
  int64_t rows() const { return end - begin; }
  int64_t keys() const { return prefix_end + key_end - key_begin; }
  int64_t column(int64_t key) const { return key < prefix_end ? key : prefix_end + key - key_begin; }
};

// one_range: the prefix and the segments as one range, whatever lies between them
// hidden (the tile path's products want one range of keys from a multiple of 64).
Tile make_tile(const AttentionShape& s, int64_t head, int64_t tile, bool one_range = false) {
  const int64_t begin = tile * kQueryTile, end = std::min(s.t, begin + kQueryTile);
  int64_t prefix_end = 0;
  for (int64_t i = begin; i < end; ++i) prefix_end = std::max(prefix_end, prefix_keys(s, i));
  int64_t key_begin = first_key(s, begin);
  // bf16 products are oneDNN primitives made and cached per shape: packed segments
  // starting anywhere would make ever new ones (0.3 ms and 70 KB each). From a
  // multiple of the tile the shapes are few; the keys added are hidden like any other.
  if (s.bf16_products) key_begin -= key_begin % kQueryTile;
  // The prefix reaching the segments, or one range asked for: one range from 0.
  if (prefix_end >= key_begin || (one_range && prefix_end > 0)) prefix_end = key_begin = 0;
  return Tile{head, begin, end, prefix_end, key_begin, s.start + end};
}

// One contiguous range of a tile's keys and the score column it starts at.
struct KeyRange {
  int64_t key, count, column;
};

std::vector<KeyRange> key_ranges(const Tile& tile) {
  std::vector<KeyRange> ranges;
  if (tile.prefix_end > 0) ranges.push_back({0, tile.prefix_end, 0});
  ranges.push_back({tile.key_begin, tile.key_end - tile.key_begin, tile.prefix_end});
  return ranges;
}

int64_t tiles_per_head(const AttentionShape& s) { return (s.t + kQueryTile - 1) / kQueryTile; }

// The tile products take fp32 or bf16 operands (T = uint16_t), summing in fp32 either way.
void gemm(const GemmShape& shape, const float* a, const float* b, float* c) { gemm_f32(shape, a, b, c); }
void gemm(const GemmShape& shape, const uint16_t* a, const uint16_t* b, float* c) { gemm_bf16(shape, a, b, c); }

// One of q, k, v or dout, by head: head h's row i at data + h·head_stride + i·row_stride.
template <typename T>
struct Heads {
  const T* data = nullptr;
  int64_t row_stride = 0, head_stride = 0;
  const T* head(int64_t h) const { return data + h * head_stride; }
};

// fp32 operands are read where they lie, heads interleaved in every row.
Heads<float> interleaved(const float* x, int64_t heads, int64_t head_dim) {
  return {x, heads * head_dim, head_dim};
}

// bf16 operands are rounded into a (heads, rows, head_dim) copy: oneDNN's bf16
// products of 64-row tiles ran at half speed reading rows of interleaved heads.
// Rows from `rows` to `padded_rows` are zero (the tile path's whole tiles).
struct HeadMajorBf16 {
  std::vector<uint16_t> values;
  Heads<uint16_t> pack(const float* x, int64_t rows, int64_t heads, int64_t head_dim, int64_t padded_rows = 0) {
    padded_rows = std::max(rows, padded_rows);
    values.resize(size_t(padded_rows * heads * head_dim));
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < padded_rows; ++i) {
        const float* from = x + (i * heads + h) * head_dim;
        uint16_t* to = values.data() + (h * padded_rows + i) * head_dim;
        if (i >= rows) {
          std::fill(to, to + head_dim, uint16_t(0));
          continue;
        }
#pragma omp simd
        for (int64_t d = 0; d < head_dim; ++d) to[d] = f32_to_bf16(from[d]);
      }
    return {values.data(), head_dim, padded_rows * head_dim};
  }
};

inline float as_float(float x) { return x; }
inline float as_float(uint16_t x) { return bf16_to_f32(x); }

// to (n) = from's values rounded to bf16, on the calling thread (inside the tiles'
// loop: linear.h's round_to_bf16 would split them among threads, and time them).
void round_rows(uint16_t* to, const float* from, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) to[i] = f32_to_bf16(from[i]);
}

// A tile's probabilities or score gradients as the next products take them: the
// fp32 values themselves, or rounded to bf16 into `rounded`.
template <typename T>
const T* as_operand(const float* values, int64_t n, std::vector<T>& rounded) {
  if constexpr (std::is_same_v<T, float>) {
    return values;
  } else {
    rounded.resize(size_t(n));
    round_rows(rounded.data(), values, n);
    return rounded.data();
  }
}

// scores (rows, keys) = alpha · A_tile · X_keysᵀ for one head: Q and K for the
// scores, dout and V for their gradient. A's rows start at a_tile; X is the head's keys.
template <typename T>
void times_keys_transposed(float* scores, const T* a_tile, int64_t a_stride, const T* x, int64_t x_stride,
                           const Tile& tile, int64_t head_dim, float alpha) {
  for (const KeyRange& r : key_ranges(tile))
    gemm(GemmShape{false, true, tile.rows(), r.count, head_dim, a_stride, x_stride, tile.keys(), alpha, 0.0f},
         a_tile, x + r.key * x_stride, scores + r.column);
}

template <typename T>
void tile_scores(float* scores, const Heads<T>& q, const Heads<T>& k, const Tile& tile, const AttentionShape& s,
                 const Layout& l) {
  times_keys_transposed(scores, q.head(tile.head) + tile.begin * q.row_stride, q.row_stride,
                        k.head(tile.head / l.group), k.row_stride, tile, s.head_dim, l.scale);
  softcap_forward(scores, tile.rows() * tile.keys(), s.softcap);
}

// out_tile (rows, head_dim) = scores · X over the tile's keys, X being V or K:
// each range adds its part.
template <typename T>
void times_keys(float* out_tile, int64_t out_stride, const T* scores, const T* x, int64_t x_stride, const Tile& tile,
                int64_t head_dim) {
  float beta = 0.0f;
  for (const KeyRange& r : key_ranges(tile)) {
    gemm(GemmShape{false, false, tile.rows(), head_dim, r.count, tile.keys(), x_stride, out_stride, 1.0f, beta},
         scores + r.column, x + r.key * x_stride, out_tile);
    beta = 1.0f;
  }
}

// grad_head (keys of the head, head_dim) += scoresᵀ · B_tile: a key or value
// gradient from the tile's rows (B: Q for keys, dout for values).
template <typename T>
void add_keys_gradient(float* grad_head, const T* scores, const T* b_tile, int64_t b_stride, const Tile& tile,
                       int64_t head_dim) {
  for (const KeyRange& r : key_ranges(tile))
    gemm(GemmShape{true, false, r.count, head_dim, tile.rows(), tile.keys(), b_stride, head_dim, 1.0f, 1.0f},
         scores + r.column, b_tile, grad_head + r.key * head_dim);
}

// The keys query i may see, as columns of its tile's score row: the prefix
// [first, gap_begin) and its own segment [gap_end, last). Without a prefix the
// first range is empty (first == gap_begin == gap_end).
struct Visible {
  int64_t first, gap_begin, gap_end, last;
};

Visible visible_columns(const AttentionShape& s, const Tile& tile, int64_t i) {
  const VisibleKeys keys = visible_keys(s, i);
  WHET_ASSERT(keys.prefix_end <= first_key(s, i));
  const int64_t segment = tile.column(keys.segment_begin);
  if (keys.prefix_begin == keys.prefix_end) return {segment, segment, segment, tile.column(keys.own) + 1};
  return {tile.column(keys.prefix_begin), tile.column(keys.prefix_end - 1) + 1, segment, tile.column(keys.own) + 1};
}

// Zero outside what query i sees, in a row of `keys` columns.
void zero_hidden(float* row, const Visible& v, int64_t keys) {
  std::fill(row, row + v.first, 0.0f);
  std::fill(row + v.gap_begin, row + v.gap_end, 0.0f);
  std::fill(row + v.last, row + keys, 0.0f);
}

// Never -infinity: the segment holds at least the query's own key.
float max_visible(const float* row, const Visible& v) {
  return std::max(max_of(row, v.gap_end, v.last), max_of(row, v.first, v.gap_begin));
}

// row[j] = exp(row[j] - shift) on [begin, end); returns their sum.
float exp_shifted(float* row, int64_t begin, int64_t end, float shift) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = begin; j < end; ++j) sum += row[j] = vector_exp(row[j] - shift);
  return sum;
}

// On [begin, end): p = exp(score - lse), ds = p · (dp - d_row) · scale · the cap's
// slope at the score (1 without a cap), in place.
void softmax_backward_range(float* p, float* ds, int64_t begin, int64_t end, float row_lse, float d_row, float scale,
                            float inverse_cap) {
#pragma omp simd
  for (int64_t j = begin; j < end; ++j) {
    const float slope = softcap_slope(p[j], inverse_cap);
    p[j] = vector_exp(p[j] - row_lse);
    ds[j] = p[j] * (ds[j] - d_row) * scale * slope;
  }
}

// Each of a tile's rows of scores (`width` apart) becomes its softmax over the keys
// its query sees, zero elsewhere; lse, if not null, receives each row's log-sum-exp.
void softmax_rows(float* probs, int64_t width, float* lse, const Tile& tile, const AttentionShape& s) {
  for (int64_t r = 0; r < tile.rows(); ++r) {
    float* row = probs + r * width;
    const Visible vis = visible_columns(s, tile, tile.begin + r);
    const float max_score = max_visible(row, vis);
    // exp over the whole row, then the hidden keys zeroed: the visible ranges' ends
    // fall anywhere, and the scalar remainders of their exps were a third of the exps'
    // time. (A hidden score may exceed the maximum: vector_exp saturates, finite.)
    exp_shifted(row, 0, width, max_score);
    zero_hidden(row, vis, width);
    float denom = 0.0f;
#pragma omp simd reduction(+ : denom)
    for (int64_t j = vis.first; j < vis.last; ++j) denom += row[j];
    const float inverse = 1.0f / denom;
#pragma omp simd
    for (int64_t j = vis.first; j < vis.last; ++j) row[j] *= inverse;
    if (lse) lse[(tile.begin + r) * s.heads + tile.head] = max_score + std::log(denom);
  }
}

// D (t, heads): each query row's dout · out, with dout as dP's product reads it
// (rounded with bf16 products), so the score gradients of a row still sum to
// nearly zero. One pass before the tiles: read row by row inside them, `out` was
// a stream of cache misses.
template <typename T>
const float* dout_dot_out(float* d, const Heads<T>& dout, const float* out, const AttentionShape& s) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < s.t; ++i)
    for (int64_t h = 0; h < s.heads; ++h) {
      const T* dout_row = dout.head(h) + i * dout.row_stride;
      const float* out_row = out + (i * s.heads + h) * s.head_dim;
      float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
      for (int64_t e = 0; e < s.head_dim; ++e) sum += as_float(dout_row[e]) * out_row[e];
      d[i * s.heads + h] = sum;
    }
  return d;
}

// A tile's rows of scores become probabilities (recomputed from lse) and their
// d_scores, `width` apart, of dP become dS; zero outside what each query sees.
// d_rows: dout_dot_out's.
void softmax_backward_rows(float* probs, float* d_scores, int64_t width, const float* d_rows, const float* lse,
                           const Tile& tile, const AttentionShape& s, const Layout& l) {
  const float inverse_cap = softcap_inverse(s.softcap);
  for (int64_t r = 0; r < tile.rows(); ++r) {
    const int64_t i = tile.begin + r;
    float* p = probs + r * width;
    float* ds = d_scores + r * width;
    const float row_lse = lse[i * s.heads + tile.head], d_row = d_rows[i * s.heads + tile.head];
    const Visible vis = visible_columns(s, tile, i);
    softmax_backward_range(p, ds, 0, width, row_lse, d_row, l.scale, inverse_cap);  // as softmax_rows' exps
    zero_hidden(p, vis, width);
    zero_hidden(ds, vis, width);
  }
}

template <typename T>
void forward_tiles(float* out, float* lse, const Heads<T>& q, const Heads<T>& k, const Heads<T>& v,
                   const AttentionShape& s) {
  const Layout l(s);
  const int64_t tiles = tiles_per_head(s);
#pragma omp parallel
  {
    std::vector<float> probs(size_t(std::min(s.t, kQueryTile) * (s.start + s.t)));
    std::vector<T> rounded;
#pragma omp for collapse(2) schedule(dynamic, 1)
    for (int64_t h = 0; h < s.heads; ++h) {
      for (int64_t tile_index = 0; tile_index < tiles; ++tile_index) {
        const Tile tile = make_tile(s, h, tile_index);
        tile_scores(probs.data(), q, k, tile, s, l);
        softmax_rows(probs.data(), tile.keys(), lse, tile, s);
        const int64_t kv_head = h / l.group;
        times_keys(out + tile.begin * l.q_stride + h * s.head_dim, l.q_stride,
                   as_operand(probs.data(), tile.rows() * tile.keys(), rounded), v.head(kv_head), v.row_stride, tile,
                   s.head_dim);
      }
    }
  }
}

// With P the probabilities (recomputed from lse) and D_i = dout_i · out_i:
// dP = dout·Vᵀ, dS = P ∘ (dP − D)·scale (∘ the cap's slope), dq = dS·K, dk += dSᵀ·Q, dv += Pᵀ·dout.
// Each query head accumulates its key/value gradients privately (query heads of
// one group would race on their shared key/value head); the group sums them after.
template <typename T>
void backward_tiles(float* dq, float* dk, float* dv, const Heads<T>& dout, const Heads<T>& q, const Heads<T>& k,
                    const Heads<T>& v, const float* out, const float* lse,
                    const AttentionShape& s) {
  const Layout l(s);
  const int64_t head_block = s.t * s.head_dim, tiles = tiles_per_head(s);
  std::vector<float> dk_heads(size_t(s.heads * head_block), 0.0f), dv_heads(dk_heads.size(), 0.0f);
  std::vector<float> d(size_t(s.t * s.heads));
  const float* d_rows = dout_dot_out(d.data(), dout, out, s);
#pragma omp parallel
  {
    const size_t tile_floats = size_t(std::min(s.t, kQueryTile) * s.t);
    std::vector<float> probs(tile_floats), d_scores(tile_floats);
    std::vector<T> rounded_probs, rounded_d_scores;
#pragma omp for schedule(dynamic, 1)
    for (int64_t h = 0; h < s.heads; ++h) {
      const int64_t kv_head = h / l.group;
      for (int64_t tile_index = 0; tile_index < tiles; ++tile_index) {
        const Tile tile = make_tile(s, h, tile_index);
        const int64_t keys = tile.keys(), rows = tile.rows();
        const int64_t q_offset = tile.begin * l.q_stride + h * s.head_dim;
        const T* dout_tile = dout.head(h) + tile.begin * dout.row_stride;
        tile_scores(probs.data(), q, k, tile, s, l);
        times_keys_transposed(d_scores.data(), dout_tile, dout.row_stride, v.head(kv_head), v.row_stride, tile,
                              s.head_dim, 1.0f);
        softmax_backward_rows(probs.data(), d_scores.data(), keys, d_rows, lse, tile, s, l);
        const T* p_operand = as_operand(probs.data(), rows * keys, rounded_probs);
        const T* ds_operand = as_operand(d_scores.data(), rows * keys, rounded_d_scores);
        times_keys(dq + q_offset, l.q_stride, ds_operand, k.head(kv_head), k.row_stride, tile, s.head_dim);
        add_keys_gradient(dk_heads.data() + h * head_block, ds_operand, q.head(h) + tile.begin * q.row_stride,
                          q.row_stride, tile, s.head_dim);
        add_keys_gradient(dv_heads.data() + h * head_block, p_operand, dout_tile, dout.row_stride, tile, s.head_dim);
      }
    }
  }
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t j = 0; j < s.t; ++j) {
    for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
      float* dkj = dk + j * l.kv_stride + kvh * s.head_dim;
      float* dvj = dv + j * l.kv_stride + kvh * s.head_dim;
      for (int64_t h = kvh * l.group; h < (kvh + 1) * l.group; ++h) {
        const float* dk_src = dk_heads.data() + h * head_block + j * s.head_dim;
        const float* dv_src = dv_heads.data() + h * head_block + j * s.head_dim;
#pragma omp simd
        for (int64_t d = 0; d < s.head_dim; ++d) {
          dkj[d] += dk_src[d];
          dvj[d] += dv_src[d];
        }
      }
    }
  }
}

// This thread's buffer `slot` of at least n elements, kept from call to call: made
// per call, buffers of a few hundred KB came back from the OS page by page (a fifth
// of a layer's attention time went to the kernel clearing them).
template <typename T, int slot>
T* scratch(int64_t n) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < size_t(n)) buffer.resize(size_t(n));
  return buffer.data();
}

// The calling thread's n floats, zero, shared out among the threads to clear.
template <int slot>
float* zeroed_scratch(int64_t n) {
  float* buffer = scratch<float, slot>(n);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i += 4096) std::fill_n(buffer + i, std::min<int64_t>(4096, n - i), 0.0f);
  return buffer;
}

// bf16 products on tiles (kernels/bf16_tiles.h: AMX, or AVX512_BF16's dot products).
// Every operand is padded to whole tiles: q, k, v and dout to rows of a multiple of
// 64 (zero), a tile's keys to one range from a multiple of 64 (make_tile's one_range)
// of a multiple of 32 columns; k and v are packed once per call as the tiles' right
// operands, Kᵀ and V for the forward, Vᵀ and K as well for the backward.

bool on_tiles(const AttentionShape& s) {
  return s.bf16_products && s.tile_products && s.head_dim % kTileDepth == 0 && has_bf16_tiles();
}

// A tile's score columns: its keys, padded to the products' multiple of 32.
int64_t tile_width(const Tile& tile) { return round_up(tile.keys(), kTileDepth); }

// q, k, v (and dout) rounded, padded and packed for the tiles. One per thread,
// its buffers kept from call to call (see scratch).
struct TileOperands {
  int64_t query_rows = 0, key_rows = 0;  // padded to multiples of kQueryTile
  HeadMajorBf16 q16, k16, v16, dout16;
  Heads<uint16_t> q, k, v, dout;
  std::vector<uint16_t> keys_t_tiles, values_tiles, values_t_tiles, keys_tiles;  // per kv head
  std::vector<PackedB> keys_t, values, values_t, keys;

  static TileOperands& of_this_thread() {
    thread_local TileOperands ops;
    return ops;
  }

  // dout null: the forward's operands only.
  const TileOperands& pack(const float* q_in, const float* k_in, const float* v_in, const float* dout_in,
                           const AttentionShape& s) {
    query_rows = round_up(s.t, kQueryTile), key_rows = round_up(s.start + s.t, kQueryTile);
    const int64_t keys_in = s.start + s.t, dim = s.head_dim;
    q = q16.pack(q_in, s.t, s.heads, dim, query_rows);
    k = k16.pack(k_in, keys_in, s.kv_heads, dim, key_rows);
    v = v16.pack(v_in, keys_in, s.kv_heads, dim, key_rows);
    if (dout_in) dout = dout16.pack(dout_in, s.t, s.heads, dim, query_rows);
    const bool backward = dout_in != nullptr;
    const size_t head_elements = size_t(packed_b_elements(key_rows, dim)), all = head_elements * size_t(s.kv_heads);
    keys_t_tiles.resize(all);
    (backward ? values_t_tiles : values_tiles).resize(all);
    if (backward) keys_tiles.resize(all);
    keys_t.resize(size_t(s.kv_heads)), values.resize(keys_t.size()), values_t.resize(keys_t.size());
    keys.resize(keys_t.size());
#pragma omp parallel for schedule(static)
    for (int64_t h = 0; h < s.kv_heads; ++h) {
      const size_t at = size_t(h) * head_elements;
      keys_t[h] = pack_b_transposed(keys_t_tiles.data() + at, k.head(h), dim, dim, key_rows);
      if (!backward) {
        values[h] = pack_b(values_tiles.data() + at, v.head(h), dim, key_rows, dim);
        continue;
      }
      values_t[h] = pack_b_transposed(values_t_tiles.data() + at, v.head(h), dim, dim, key_rows);
      keys[h] = pack_b(keys_tiles.data() + at, k.head(h), dim, key_rows, dim);
    }
    return *this;
  }
};

// scores (kQueryTile × width) = scale · Q_tile · Kᵀ over the tile's keys, capped.
void scores_on_tiles(float* scores, int64_t width, const TileOperands& ops, const Tile& tile, const AttentionShape& s,
                     const Layout& l) {
  tile_product(scores, width, false, ops.q.head(tile.head) + tile.begin * s.head_dim, s.head_dim,
               ops.keys_t[size_t(tile.head / l.group)], tile.key_begin, 0, kQueryTile, width, s.head_dim);
  const int64_t n = kQueryTile * width;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) scores[i] *= l.scale;
  softcap_forward(scores, n, s.softcap);
}

// to (cols × rows) = fromᵀ rounded to bf16; from is rows × cols, both multiples of 16.
// Only the tile path calls it, which builds without AVX512_BF16 never take.
void round_transposed(uint16_t* to, const float* from, int64_t rows, int64_t cols) {
#ifdef __AVX512BF16__
  for (int64_t r = 0; r < rows; r += 16)
    for (int64_t c = 0; c < cols; c += 16) {
      __m512i block[16];
      for (int64_t i = 0; i < 16; ++i) block[i] = _mm512_castps_si512(_mm512_loadu_ps(from + (r + i) * cols + c));
      transpose_16x16(block);
      for (int64_t j = 0; j < 16; ++j)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + (c + j) * rows + r),
                            (__m256i)_mm512_cvtneps_pbh(_mm512_castsi512_ps(block[j])));
    }
#else
  WHET_ASSERT(!"round_transposed without AVX512_BF16");
#endif
}

// out's rows of a tile (kQueryTile × head_dim, interleaved heads) = A · B: a
// whole tile straight into out, the last one of a length not a multiple of 64
// through `product` (its padded rows would run past the end).
void tile_rows_product(float* out, float* product, const uint16_t* a, int64_t lda, const PackedB& b, int64_t depth,
                       int64_t k, const Tile& tile, const AttentionShape& s, const Layout& l) {
  float* rows = out + tile.begin * l.q_stride + tile.head * s.head_dim;
  if (tile.rows() == kQueryTile) return tile_product(rows, l.q_stride, false, a, lda, b, 0, depth, kQueryTile, s.head_dim, k);
  tile_product(product, s.head_dim, false, a, lda, b, 0, depth, kQueryTile, s.head_dim, k);
  for (int64_t r = 0; r < tile.rows(); ++r) std::copy_n(product + r * s.head_dim, s.head_dim, rows + r * l.q_stride);
}

void forward_on_tiles(float* out, float* lse, const float* q, const float* k, const float* v,
                      const AttentionShape& s) {
  const Layout l(s);
  const TileOperands& ops = TileOperands::of_this_thread().pack(q, k, v, nullptr, s);
  const int64_t tiles = tiles_per_head(s);
#pragma omp parallel
  {
    const TileScope tile_state;
    float* probs = scratch<float, 0>(kQueryTile * ops.key_rows);
    float* product = scratch<float, 1>(kQueryTile * s.head_dim);
    uint16_t* probs16 = scratch<uint16_t, 0>(kQueryTile * ops.key_rows);
#pragma omp for collapse(2) schedule(dynamic, 1)
    for (int64_t h = 0; h < s.heads; ++h)
      for (int64_t tile_index = 0; tile_index < tiles; ++tile_index) {
        const Tile tile = make_tile(s, h, tile_index, /*one_range=*/true);
        const int64_t width = tile_width(tile);
        scores_on_tiles(probs, width, ops, tile, s, l);
        softmax_rows(probs, width, lse, tile, s);
        round_rows(probs16, probs, kQueryTile * width);
        tile_rows_product(out, product, probs16, width, ops.values[size_t(h / l.group)], tile.key_begin, width, tile,
                          s, l);
      }
  }
}

// The backward's tasks: each key/value head's query heads (its group) over a part
// of the tiles, the parts of about equal work (the causal mask gives later tiles
// more keys), each task summing its own key and value gradients. About two tasks
// per thread keep the threads equally busy: by query head alone, 9 heads left one
// of two threads idle for one; by key/value head the sums are a group's size fewer
// to clear and add up.
int64_t part_count(const AttentionShape& s) {
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  return std::clamp<int64_t>((2 * threads + s.kv_heads - 1) / s.kv_heads, 1, tiles_per_head(s));
}

std::vector<int64_t> part_starts(const AttentionShape& s, int64_t parts) {
  const int64_t tiles = tiles_per_head(s);
  std::vector<int64_t> work(size_t(tiles) + 1, 0);
  for (int64_t i = 0; i < tiles; ++i) work[size_t(i) + 1] = work[size_t(i)] + make_tile(s, 0, i, true).keys();
  std::vector<int64_t> starts{0};
  for (int64_t part = 1; part < parts; ++part) {
    int64_t i = starts.back();
    while (i < tiles && work[size_t(i)] * parts < work.back() * part) ++i;
    starts.push_back(i);
  }
  starts.push_back(tiles);
  return starts;
}

// A thread's buffers for the backward's tiles (scratch: kept from call to call).
struct BackwardScratch {
  float *probs, *d_scores, *product;
  uint16_t *d_scores16, *probs_t, *d_scores_t, *q_tiles, *dout_tiles;
  BackwardScratch(int64_t key_rows, int64_t dim)
      : probs(scratch<float, 0>(kQueryTile * key_rows)),
        d_scores(scratch<float, 1>(kQueryTile * key_rows)),
        product(scratch<float, 2>(kQueryTile * dim)),
        d_scores16(scratch<uint16_t, 0>(kQueryTile * key_rows)),
        probs_t(scratch<uint16_t, 1>(kQueryTile * key_rows)),
        d_scores_t(scratch<uint16_t, 2>(kQueryTile * key_rows)),
        q_tiles(scratch<uint16_t, 3>(packed_b_elements(kQueryTile, dim))),
        dout_tiles(scratch<uint16_t, 4>(packed_b_elements(kQueryTile, dim))) {}
};

// One tile of the backward: its rows of dq, and its share of the key and value
// gradients added into dk_part and dv_part (key rows, head_dim).
void backward_tile(float* dq, float* dk_part, float* dv_part, const Tile& tile, const TileOperands& ops,
                   const float* d_rows, const float* lse, const AttentionShape& s, const Layout& l,
                   const BackwardScratch& b) {
  const int64_t dim = s.head_dim, kv_head = tile.head / l.group, width = tile_width(tile), n = kQueryTile * width;
  const uint16_t* q_tile = ops.q.head(tile.head) + tile.begin * dim;
  const uint16_t* dout_tile = ops.dout.head(tile.head) + tile.begin * dim;
  // P from the scores and lse; dS from dP = dout · Vᵀ.
  scores_on_tiles(b.probs, width, ops, tile, s, l);
  tile_product(b.d_scores, width, false, dout_tile, dim, ops.values_t[size_t(kv_head)], tile.key_begin, 0, kQueryTile,
               width, dim);
  softmax_backward_rows(b.probs, b.d_scores, width, d_rows, lse, tile, s, l);
  // Rows past the queries: zero, so they add nothing to the key and value gradients.
  std::fill(b.probs + tile.rows() * width, b.probs + n, 0.0f);
  std::fill(b.d_scores + tile.rows() * width, b.d_scores + n, 0.0f);
  // dq = dS · K
  round_rows(b.d_scores16, b.d_scores, n);
  tile_rows_product(dq, b.product, b.d_scores16, width, ops.keys[size_t(kv_head)], tile.key_begin, width, tile, s, l);
  // dk += dSᵀ · Q_tile, dv += Pᵀ · dout_tile
  round_transposed(b.d_scores_t, b.d_scores, kQueryTile, width);
  round_transposed(b.probs_t, b.probs, kQueryTile, width);
  const PackedB q_b = pack_b(b.q_tiles, q_tile, dim, kQueryTile, dim);
  const PackedB dout_b = pack_b(b.dout_tiles, dout_tile, dim, kQueryTile, dim);
  tile_product(dk_part + tile.key_begin * dim, dim, true, b.d_scores_t, kQueryTile, q_b, 0, 0, width, dim, kQueryTile);
  tile_product(dv_part + tile.key_begin * dim, dim, true, b.probs_t, kQueryTile, dout_b, 0, 0, width, dim, kQueryTile);
}

void backward_on_tiles(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                       const float* v, const float* out, const float* lse, const AttentionShape& s) {
  const Layout l(s);
  const TileOperands& ops = TileOperands::of_this_thread().pack(q, k, v, dout, s);
  const int64_t dim = s.head_dim, part_block = ops.key_rows * dim, parts = part_count(s), tasks = parts * s.kv_heads;
  const std::vector<int64_t> starts = part_starts(s, parts);
  const float* d_rows = dout_dot_out(scratch<float, 5>(s.t * s.heads), ops.dout, out, s);
  float* dk_parts = zeroed_scratch<3>(tasks * part_block);
  float* dv_parts = zeroed_scratch<4>(tasks * part_block);
#pragma omp parallel
  {
    const TileScope tile_state;
    const BackwardScratch buffers(ops.key_rows, dim);
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t kv_head = task / parts, part = task % parts;
      for (int64_t h = kv_head * l.group; h < (kv_head + 1) * l.group; ++h)
        for (int64_t tile_index = starts[size_t(part)]; tile_index < starts[size_t(part) + 1]; ++tile_index)
          backward_tile(dq, dk_parts + task * part_block, dv_parts + task * part_block,
                        make_tile(s, h, tile_index, /*one_range=*/true), ops, d_rows, lse, s, l, buffers);
    }
  }
  // Each key/value head sums its parts.
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t j = 0; j < s.t; ++j)
    for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
      float* dkj = dk + j * l.kv_stride + kvh * dim;
      float* dvj = dv + j * l.kv_stride + kvh * dim;
      for (int64_t task = kvh * parts; task < (kvh + 1) * parts; ++task) {
        const float* dk_src = dk_parts + task * part_block + j * dim;
        const float* dv_src = dv_parts + task * part_block + j * dim;
#pragma omp simd
        for (int64_t d = 0; d < dim; ++d) dkj[d] += dk_src[d], dvj[d] += dv_src[d];
      }
    }
}

// A decode step: a few query rows, no packed segments, fp32. The tiles' products
// would be a row each against the keys, and oneDNN's or gemm_few_rows' cost per
// call was most of such a step's attention. Here a query row's key rows are read
// once, in position order, for all the heads, and then its value rows; reading
// them is what the step waits on (kFetchAhead below).
constexpr int64_t kFewQueries = 4;

bool few_queries(const AttentionShape& s) {
  return s.t <= kFewQueries && !s.segment_begin && !s.prefix_end && !s.bf16_products;
}

// A KV cache of F16 holds its keys and values as IEEE half (KvCache); this
// tells those apart from the bf16 operands above.
enum class Half : uint16_t {};

// A decode step's rows of keys, values and queries as fp32 lanes: 16 at a time with
// AVX-512, 8 with AVX2 (F16C widening half rows), and what is left of a row one by one.
// GCC 12's headers start the plain forms of some of these from undefined registers,
// which -Wuninitialized reports: zero-masked forms keep every lane and avoid that.
#if defined(__AVX512F__)
#define WHET_DECODE_LANES 1
using Lanes = __m512;
constexpr int64_t kLanes = 16;
inline Lanes lanes_of(const float* p) { return _mm512_loadu_ps(p); }
inline Lanes lanes_of(const Half* p) {
  return _mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline Lanes broadcast(float x) { return _mm512_set1_ps(x); }
inline Lanes mul_add(Lanes a, Lanes b, Lanes c) { return _mm512_fmadd_ps(a, b, c); }
inline void store_lanes(float* p, Lanes v) { _mm512_storeu_ps(p, v); }
inline float lane_sum(Lanes v) {
  const __m256 eight = _mm256_add_ps(_mm512_maskz_extractf32x8_ps(0xff, v, 0), _mm512_maskz_extractf32x8_ps(0xff, v, 1));
  const __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
  const __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
  return _mm_cvtss_f32(_mm_add_ss(two, _mm_movehdup_ps(two)));
}
#elif defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
#define WHET_DECODE_LANES 1
using Lanes = __m256;
constexpr int64_t kLanes = 8;
inline Lanes lanes_of(const float* p) { return _mm256_loadu_ps(p); }
inline Lanes lanes_of(const Half* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline Lanes broadcast(float x) { return _mm256_set1_ps(x); }
inline Lanes mul_add(Lanes a, Lanes b, Lanes c) { return _mm256_fmadd_ps(a, b, c); }
inline void store_lanes(float* p, Lanes v) { _mm256_storeu_ps(p, v); }
inline float lane_sum(Lanes v) {
  const __m128 four = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
  return _mm_cvtss_f32(_mm_add_ss(two, _mm_movehdup_ps(two)));
}
#endif
inline float element(const float* p) { return *p; }
inline float element(const Half* p) { return f16_to_f32(uint16_t(*p)); }

// q · k over one head's dims.
template <typename KV>
float dot_row(const float* q, const KV* k, int64_t dim) {
  float dot = 0.0f;
  int64_t d = 0;
#ifdef WHET_DECODE_LANES
  Lanes sum = broadcast(0.0f);
  for (; d + kLanes <= dim; d += kLanes) sum = mul_add(lanes_of(q + d), lanes_of(k + d), sum);
  dot = lane_sum(sum);
#endif
  for (; d < dim; ++d) dot += q[d] * element(k + d);
  return dot;
}

// out[b] = Σ_j p[b][j] · v[b][j · stride] over keys [begin, end) for kHeads heads
// (out[b] a head's dim outputs, dim apart): each head's sums stay in registers over
// all the keys, a row's worth of lanes at a time. Accumulating into the output row
// key after key instead, every multiply-add waited on the store of the one before
// (half of a 16-sequence step's attention).
template <int kHeads, typename KV>
void weigh_values(float* out, const float* const* p, const KV* const* v, int64_t stride, int64_t dim, int64_t begin,
                  int64_t end) {
  int64_t d = 0;
#ifdef WHET_DECODE_LANES
  for (; d + kLanes <= dim; d += kLanes) {
    Lanes sum[kHeads];
#pragma GCC unroll 4
    for (int b = 0; b < kHeads; ++b) sum[b] = broadcast(0.0f);
    for (int64_t j = begin; j < end; ++j)
#pragma GCC unroll 4
      for (int b = 0; b < kHeads; ++b) sum[b] = mul_add(broadcast(p[b][j]), lanes_of(v[b] + j * stride + d), sum[b]);
#pragma GCC unroll 4
    for (int b = 0; b < kHeads; ++b) store_lanes(out + b * dim + d, sum[b]);
  }
#endif
  for (; d < dim; ++d)
    for (int b = 0; b < kHeads; ++b) {
      float sum = 0.0f;
      for (int64_t j = begin; j < end; ++j) sum += p[b][j] * element(v[b] + j * stride + d);
      out[b * dim + d] = sum;
    }
}

// A decode step's keys and values come from memory, not cache: a 16-sequence step's
// caches are 47 MB, and the weights passed through the cache since the layer's last
// step. Asking for the key row a few positions ahead, and for the value row
// while its key is in use, keeps several rows in flight: the step's attention went
// 6.4-6.7 → 4.2-4.7 ms (`whet bench batch --batch 16 --profile`, default model, f16
// cache; 2 to 16 rows ahead gave the same, 2026-12-07).
constexpr int64_t kFetchAhead = 4;

template <typename KV>
void fetch_row(const KV* row, int64_t elems) {
  const auto* bytes = reinterpret_cast<const char*>(row);
  for (int64_t b = 0; b < elems * int64_t(sizeof(KV)); b += 64) _mm_prefetch(bytes + b, _MM_HINT_T0);
}

// Query row i's heads [h_begin, h_end): their scores over the visible keys (no
// segments, so no prefix: from the window's start, or 0, to its own key), softmax,
// and out. scores: (heads, keys), reused from task to task. KV: float or Half.
template <typename KV>
void attend_few(float* out, float* lse, const float* q, const KV* k, const KV* v, const AttentionShape& s,
                const Layout& l, int64_t i, int64_t h_begin, int64_t h_end, std::vector<float>& scores) {
  const int64_t keys = s.start + s.t, dim = s.head_dim;
  const VisibleKeys visible = visible_keys(s, i);
  const int64_t begin = visible.segment_begin, end = visible.own + 1;
  scores.resize(size_t(s.heads * keys));
  const float* q_row = q + i * l.q_stride;
  for (int64_t j = begin; j < end; ++j) {
    if (j + kFetchAhead < end) fetch_row(k + (j + kFetchAhead) * l.kv_stride, l.kv_stride);
    fetch_row(v + j * l.kv_stride, l.kv_stride);  // for the values' pass after the softmax
    for (int64_t h = h_begin; h < h_end; ++h)
      scores[size_t(h * keys + j)] = dot_row(q_row + h * dim, k + j * l.kv_stride + (h / l.group) * dim, dim) * l.scale;
  }
  float* out_row = out + i * l.q_stride;
  for (int64_t h = h_begin; h < h_end; ++h) {
    float* row = scores.data() + h * keys;
    softcap_forward(row + begin, end - begin, s.softcap);
    const float max_score = max_of(row, begin, end);  // never empty: holds the query's own key
    const float denom = exp_shifted(row, begin, end, max_score), inverse = 1.0f / denom;
#pragma omp simd
    for (int64_t j = begin; j < end; ++j) row[j] *= inverse;
    if (lse) lse[i * s.heads + h] = max_score + std::log(denom);
  }
  constexpr int64_t kBlockHeads = 4;  // 4 heads' sums over 16 lanes, and their operands, fit the registers
  for (int64_t h0 = h_begin; h0 < h_end; h0 += kBlockHeads) {
    const int64_t heads = std::min(kBlockHeads, h_end - h0);
    const float* p[kBlockHeads];
    const KV* v_of[kBlockHeads];
    for (int64_t b = 0; b < heads; ++b) p[b] = scores.data() + (h0 + b) * keys, v_of[b] = v + ((h0 + b) / l.group) * dim;
    float* at = out_row + h0 * dim;
    switch (heads) {
      case 1: weigh_values<1>(at, p, v_of, l.kv_stride, dim, begin, end); break;
      case 2: weigh_values<2>(at, p, v_of, l.kv_stride, dim, begin, end); break;
      case 3: weigh_values<3>(at, p, v_of, l.kv_stride, dim, begin, end); break;
      default: weigh_values<4>(at, p, v_of, l.kv_stride, dim, begin, end);
    }
  }
}

// Inside a region already (a sequence per thread), this thread takes a row's
// heads all at once; alone, the threads split them (by whole kv-head groups
// where there are enough: a key row is then read by one thread only).
template <typename KV>
void forward_few_queries(float* out, float* lse, const float* q, const KV* k, const KV* v, const AttentionShape& s) {
  const Layout l(s);
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t parts = std::min(s.heads, threads), unit = s.kv_heads >= parts ? l.group : 1;
  const int64_t units = s.heads / unit;
#pragma omp parallel if (parts > 1)
  {
    std::vector<float> scores;
#pragma omp for collapse(2) schedule(static)
    for (int64_t i = 0; i < s.t; ++i)
      for (int64_t part = 0; part < parts; ++part)
        attend_few(out, lse, q, k, v, s, l, i, part * units / parts * unit, (part + 1) * units / parts * unit, scores);
  }
}

void forward(float* out, float* lse, const float* q, const float* k, const float* v, const AttentionShape& s) {
  if (few_queries(s)) return forward_few_queries(out, lse, q, k, v, s);
  const int64_t keys = s.start + s.t;
  if (on_tiles(s)) return forward_on_tiles(out, lse, q, k, v, s);
  if (!s.bf16_products)
    return forward_tiles(out, lse, interleaved(q, s.heads, s.head_dim), interleaved(k, s.kv_heads, s.head_dim),
                         interleaved(v, s.kv_heads, s.head_dim), s);
  HeadMajorBf16 q16, k16, v16;
  forward_tiles(out, lse, q16.pack(q, s.t, s.heads, s.head_dim), k16.pack(k, keys, s.kv_heads, s.head_dim),
                v16.pack(v, keys, s.kv_heads, s.head_dim), s);
}

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const AttentionShape& s) {
  const PhaseScope phase("attention forward");
  forward(out, lse, q, k, v, s);
}

void attention_forward_f16_kv(float* out, float* lse, const float* q, const uint16_t* k, const uint16_t* v,
                              const AttentionShape& s) {
  const PhaseScope phase("attention forward");
  if (few_queries(s))
    return forward_few_queries(out, lse, q, reinterpret_cast<const Half*>(k), reinterpret_cast<const Half*>(v), s);
  // A prompt's rows: widening the history costs little beside the products.
  const int64_t n = (s.start + s.t) * s.kv_heads * s.head_dim;
  std::vector<float> k_wide(static_cast<size_t>(n)), v_wide(static_cast<size_t>(n));
  dequantize(DType::F16, k, k_wide.data(), n);
  dequantize(DType::F16, v, v_wide.data(), n);
  forward(out, lse, q, k_wide.data(), v_wide.data(), s);
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, const AttentionShape& s) {
  const PhaseScope phase("attention backward");
  WHET_ASSERT(s.start == 0);
  if (on_tiles(s)) return backward_on_tiles(dq, dk, dv, dout, q, k, v, out, lse, s);
  if (!s.bf16_products)
    return backward_tiles(dq, dk, dv, interleaved(dout, s.heads, s.head_dim), interleaved(q, s.heads, s.head_dim),
                          interleaved(k, s.kv_heads, s.head_dim), interleaved(v, s.kv_heads, s.head_dim), out, lse,
                          s);
  HeadMajorBf16 dout16, q16, k16, v16;
  backward_tiles(dq, dk, dv, dout16.pack(dout, s.t, s.heads, s.head_dim), q16.pack(q, s.t, s.heads, s.head_dim),
                 k16.pack(k, s.t, s.kv_heads, s.head_dim), v16.pack(v, s.t, s.kv_heads, s.head_dim), out, lse, s);
}

namespace {

// Whether query i sees key j: the mask the tiled kernels must follow.
bool sees(const AttentionShape& s, int64_t i, int64_t j) {
  const int64_t own = s.start + i;
  if (j > own || (j < first_key(s, i) && j >= prefix_keys(s, i))) return false;
  if (s.window <= 0) return true;
  // Positions continue from the prefix into the segment, skipping the keys between.
  const int64_t distance = j >= first_key(s, i) ? own - j : own - first_key(s, i) + prefix_keys(s, i) - j;
  return distance < s.window;
}

// probs[(h * t_q + i) * keys + j]: the full softmax of every query row, in double;
// slopes, when not null, receives the softcap's derivative at each score (1 without a cap).
std::vector<double> reference_probs(const float* q, const float* k, const AttentionShape& s,
                                    std::vector<double>* slopes = nullptr) {
  const Layout l(s);
  const int64_t keys = s.start + s.t;
  std::vector<double> probs(size_t(s.heads * s.t * keys), 0.0);
  if (slopes) slopes->assign(probs.size(), 1.0);
  for (int64_t h = 0; h < s.heads; ++h) {
    for (int64_t i = 0; i < s.t; ++i) {
      double* p = probs.data() + (h * s.t + i) * keys;
      double max_score = -INFINITY, denom = 0.0;
      for (int64_t j = 0; j < keys; ++j) {
        if (!sees(s, i, j)) continue;
        double score = 0.0;
        for (int64_t d = 0; d < s.head_dim; ++d)
          score += double(q[(i * s.heads + h) * s.head_dim + d]) * k[j * l.kv_stride + (h / l.group) * s.head_dim + d];
        p[j] = score * l.scale;
        if (s.softcap > 0) {
          const double t = std::tanh(p[j] / s.softcap);
          p[j] = s.softcap * t;
          if (slopes) (*slopes)[size_t((h * s.t + i) * keys + j)] = 1.0 - t * t;
        }
        max_score = std::max(max_score, p[j]);
      }
      for (int64_t j = 0; j < keys; ++j)
        if (sees(s, i, j)) denom += p[j] = std::exp(p[j] - max_score);
      for (int64_t j = 0; j < keys; ++j) p[j] /= denom;
    }
  }
  return probs;
}

}  // namespace

void attention_forward_reference(float* out, const float* q, const float* k, const float* v, const AttentionShape& s) {
  const Layout l(s);
  const int64_t keys = s.start + s.t;
  const std::vector<double> probs = reference_probs(q, k, s);
  for (int64_t h = 0; h < s.heads; ++h)
    for (int64_t i = 0; i < s.t; ++i)
      for (int64_t d = 0; d < s.head_dim; ++d) {
        double sum = 0.0;
        for (int64_t j = 0; j < keys; ++j)
          sum += probs[(h * s.t + i) * keys + j] * v[j * l.kv_stride + (h / l.group) * s.head_dim + d];
        out[(i * s.heads + h) * s.head_dim + d] = float(sum);
      }
}

void attention_backward_reference(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                  const float* v, const AttentionShape& s) {
  WHET_ASSERT(s.start == 0);
  const Layout l(s);
  const int64_t keys = s.t, hd = s.head_dim;
  std::vector<double> slopes;
  const std::vector<double> probs = reference_probs(q, k, s, &slopes);
  std::fill(dq, dq + s.t * s.heads * hd, 0.0f);
  for (int64_t h = 0; h < s.heads; ++h) {
    const int64_t kv = (h / l.group) * hd;
    for (int64_t i = 0; i < s.t; ++i) {
      const double* p = probs.data() + (h * s.t + i) * keys;
      const double* slope = slopes.data() + (h * s.t + i) * keys;
      const float* dov = dout + (i * s.heads + h) * hd;
      std::vector<double> d_prob(keys, 0.0);
      double weighted = 0.0;  // sum_j p_j * d_prob_j
      for (int64_t j = 0; j < keys; ++j) {
        for (int64_t d = 0; d < hd; ++d) d_prob[j] += double(dov[d]) * v[j * l.kv_stride + kv + d];
        weighted += p[j] * d_prob[j];
      }
      for (int64_t j = 0; j < keys; ++j) {
        const double d_score = p[j] * (d_prob[j] - weighted) * l.scale * slope[j];
        for (int64_t d = 0; d < hd; ++d) {
          dq[(i * s.heads + h) * hd + d] += float(d_score * k[j * l.kv_stride + kv + d]);
          dk[j * l.kv_stride + kv + d] += float(d_score * q[(i * s.heads + h) * hd + d]);
          dv[j * l.kv_stride + kv + d] += float(p[j] * dov[d]);
        }
      }
    }
  }
}

}  // namespace whet

#pragma GCC pop_options
