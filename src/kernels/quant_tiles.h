#pragma once
// Quantized weight rows times several activation rows on AMX tiles: a batched
// decode step's matrix products, and a prompt's. quant_dot.h's fused dots decode
// each block once for all the rows too, but then spend two fp32 multiply-adds per
// weight and row; a tile product does 16 weight rows by 16 activation rows by 32
// in one instruction, and a group of 32 weight rows is decoded once for any
// number of activation rows.
//
// It stays as exact as the fused dots: a block's levels are small integers, exact
// in bf16; each activation is carried as three bf16 values (its rounding and the
// roundings of what is left: a normal fp32 value exactly); the tile sums in fp32,
// and the block's scale and offset apply in fp32 afterwards. (bf16 conversion and
// the tile products flush denormals to zero.)
#include <cstdint>
#include <span>

#include "core/dtype.h"

namespace whet {

// Whether tiled_dots runs for weights encoded as `type` here: the CPU has AMX with
// bf16 tiles (and Linux lets the process use them), and the encoding's scales apply
// to 32 weights at a time (every block type with a fused dot but Q6_K).
bool has_tiled_dots(DType type);

// One weight matrix of a tiled product: `rows` rows, each n elements encoded as
// the call's type and row_bytes long, one after another from `weights`; its
// products land at out[i · out_stride + r].
struct TiledWeights {
  const uint8_t* weights;
  int64_t row_bytes, rows;
  float* out;
  int64_t out_stride;
};

// out[i · out_stride + r] = Σ_j w_r[j] · x[i · n + j] for every matrix's rows and
// the m activation rows x (n > 0): several matrices against the same activations
// (a layer's q, k and v) share their tiles and one parallel loop. Threads split the
// weight rows; each decodes a group of 32 once and multiplies it with the
// activations 16 rows at a time.
void tiled_dots(DType type, std::span<const TiledWeights> matrices, const float* x, int64_t m, int64_t n);

}  // namespace whet
