#pragma once
// Small bf16 matrix products summed in fp32: attention's tiles of 64 query rows
// against a head's keys. oneDNN made and looked up a primitive, and packed the
// right operand, on every one of those calls (about 190 GFLOP/s for a layer's
// attention on two threads); here the right operand is packed once into the
// layout AMX's tile instruction reads, and a product is a loop over it: of AMX
// tile loads and multiply-adds, or, on CPUs with AVX512_BF16 but no AMX (AMD
// Zen 4), of AVX-512 dot products of bf16 pairs, which read the same layout.
//
// Sizes are padded by the caller: m, n and k multiples of 32 (kTileDepth), the
// operands holding zeros (or anything finite that meets a zero) in the padding.
#include <cstdint>

namespace whet {

constexpr int64_t kTileSide = 16;   // rows of a tile; columns of B and C per tile
constexpr int64_t kTileDepth = 32;  // bf16 elements of a row of A per tile: the depth one instruction sums

// x rounded up to a multiple of `to`: a size padded to whole tiles.
constexpr int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// What multiplies the tiles: AMX (granted by Linux), or AVX512_BF16's dot products.
enum class TileEngine { amx, dot_products };

// Whether this build and this CPU have the engine.
bool has_tile_engine(TileEngine engine);
// Whether they have either; best_tile_engine() is then the faster (AMX).
bool has_bf16_tiles();
TileEngine best_tile_engine();

// The calling thread's engine for tile_product while this lives (AMX's tiles
// configured, then released): open one per thread of a parallel region, around
// its products. Tests pin an engine; the kernels take the best.
class TileScope {
 public:
  explicit TileScope(TileEngine engine = best_tile_engine());
  ~TileScope();
  TileScope(const TileScope&) = delete;
  TileScope& operator=(const TileScope&) = delete;

 private:
  TileEngine engine_;
};

// B (k × n) as tiles: for every 16 columns, k/32 tiles of 16 rows, one after
// another; tile row p holds the 16 columns' elements of rows 2p and 2p + 1 of
// its 32, interleaved. Elements past k or n are zero.
struct PackedB {
  const uint16_t* tiles = nullptr;
  int64_t depth_tiles = 0;  // ⌈k / 32⌉
};
int64_t packed_b_elements(int64_t k, int64_t n);
// From X (k × n, rows ld apart): B = X.
PackedB pack_b(uint16_t* packed, const uint16_t* x, int64_t ld, int64_t k, int64_t n);
// From X (n × k, rows ld apart): B = Xᵀ.
PackedB pack_b_transposed(uint16_t* packed, const uint16_t* x, int64_t ld, int64_t k, int64_t n);

// C (m × n, rows ldc apart) = or += A (m × k, bf16, rows lda apart) · B's columns
// [column, column + n) over its rows [depth, depth + k); column and depth are
// multiples of 32 too. Needs a TileScope on this thread, whose engine multiplies.
void tile_product(float* c, int64_t ldc, bool accumulate, const uint16_t* a, int64_t lda, const PackedB& b,
                  int64_t column, int64_t depth, int64_t m, int64_t n, int64_t k);

}  // namespace whet
