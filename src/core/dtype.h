#pragma once
// Element types of tensors as they appear in model files, and the scalar
// conversions between the 16-bit float formats and fp32.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#ifdef __F16C__
#include <immintrin.h>
#endif

namespace whet {

enum class DType : uint8_t { F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, I32 };

// Quantized types store blocks of `block_elems` values in `block_bytes` bytes;
// plain types are blocks of one element.
struct DTypeInfo {
  std::string_view name;
  int block_elems;
  int block_bytes;
};

const DTypeInfo& dtype_info(DType t);
inline std::string_view dtype_name(DType t) { return dtype_info(t).name; }
bool is_quantized(DType t);
// Bytes needed for `n` elements; n must be a whole number of blocks.
size_t dtype_bytes(DType t, int64_t n);
std::optional<DType> dtype_from_name(std::string_view name);  // "F32", "Q4_K", ...

// IEEE 754 binary16 <-> binary32, round to nearest even; handles subnormals, inf, nan.
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// Block fields of quantized types sit at arbitrary byte offsets, so they are read with memcpy.
inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
// A binary16 at any byte offset; with F16C the conversion is one instruction.
inline float load_f16(const uint8_t* p) {
#ifdef __F16C__
  return _cvtsh_ss(load_u16(p));
#else
  return f16_to_f32(load_u16(p));
#endif
}

inline float bf16_to_f32(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
// Round to nearest even; NaN stays NaN (quieted). Branch-free, so loops over
// it vectorise: activations are rounded this way before every bf16 matmul.
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const uint16_t quiet_nan = uint16_t((bits >> 16) | 0x40);
  const uint16_t rounded = uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
  return (bits & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded;
}

}  // namespace whet
