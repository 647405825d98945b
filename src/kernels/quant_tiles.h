#pragma once
// Quantized weight rows times several activation rows on AMX tiles, or without AMX
// on AVX-512 or AVX2 vectors: a batched decode step's matrix products, and a prompt's.
// quant_dot.h's fused dots decode each block once for all the rows too, but then
// spend two fp32 multiply-adds per weight and row; a tile product does 16 weight
// rows by 16 activation rows by 32 in one instruction, and a group of 32 weight
// rows is decoded once for any number of activation rows.
//
// It stays as exact as the fused dots: a block's levels are small integers, exact
// in bf16; each activation is carried as three bf16 values (its rounding and the
// roundings of what is left: a normal fp32 value exactly); the tile sums in fp32,
// and the block's scale and offset apply in fp32 afterwards. (bf16 conversion and
// the tile products flush denormals to zero.)
//
// On AVX-512 without AMX the same groups' levels are decoded as fp32 and multiplied
// with fp32 activations, 16 activation rows in the lanes of a register: one
// multiply-add a weight and 16 rows, where the fused dots spend one a weight and row.
// With AVX2 alone, 16 registers of 8 lanes, a group of 16 weight rows is decoded
// on its side, the weights of input j in the lanes (scale · level + offset, each
// rounded to fp32 once, as the decoded gemm has them), and multiplied with 6
// activation rows at a time, each input broadcast.
#include <cstdint>
#include <span>

#include "core/dtype.h"

namespace whet {

// What multiplies: AMX's bf16 tiles (Linux letting the process use them), AVX-512's
// fp32 vectors, or AVX2's.
enum class TiledDotsEngine { amx_tiles, avx512, avx2 };

// Whether tiled_dots runs for weights encoded as `type` on the engine here (the
// build and the CPU have it), or on the best one: the encoding's scales apply to 32
// weights at a time (every block type with a fused dot but Q6_K).
bool has_tiled_dots(DType type, TiledDotsEngine engine);
bool has_tiled_dots(DType type);
// AMX where the process may use it, else the widest vectors the build has.
TiledDotsEngine best_tiled_dots_engine();

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
// weight rows; each decodes a group of them once (32, or 16 with AVX2) and multiplies
// it with the activations 16 rows at a time (6 with AVX2).
// Tests pin the engine.
void tiled_dots(DType type, std::span<const TiledWeights> matrices, const float* x, int64_t m, int64_t n,
                TiledDotsEngine engine = best_tiled_dots_engine());

}  // namespace whet
