#pragma once
// CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial value and
// final xor 0xFFFFFFFF), the checksum TFRecord files frame their records with.
// crc32c("123456789") is 0xE3069283, the standard check value.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace whet::track {

uint32_t crc32c(const void* data, size_t size);
inline uint32_t crc32c(std::string_view bytes) { return crc32c(bytes.data(), bytes.size()); }

// TFRecord's masked CRC: rotated right by 15 bits plus a constant, so a CRC
// stored inside data that is itself checksummed does not checksum to a fixed value.
inline uint32_t masked_crc32c(std::string_view bytes) {
  const uint32_t crc = crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

}  // namespace whet::track
