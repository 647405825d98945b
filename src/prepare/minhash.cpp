#include "prepare/minhash.h"

#include <utf8proc.h>
#include <xxhash.h>

#include <algorithm>

#include "core/error.h"
#include "core/utf8.h"

namespace whet {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

bool is_space(utf8proc_int32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' ||
         (cp > 0x7F && utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS);
}

}  // namespace

std::vector<uint64_t> shingle_hashes(std::string_view text, int k) {
  WHET_ASSERT(k > 0);
  // The folded text, and where each of its code points starts.
  std::string folded;
  std::vector<uint32_t> starts;
  folded.reserve(text.size());
  starts.reserve(text.size());
  for (const CodePoint& c : code_points(text)) {
    int32_t cp = c.value;
    if (is_space(cp)) {
      if (folded.empty() || folded.back() == ' ') continue;
      cp = ' ';
    }
    cp = cp < 0x80 ? (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp) : utf8proc_tolower(cp);
    starts.push_back(uint32_t(folded.size()));
    append_utf8(folded, cp);
  }
  if (!folded.empty() && folded.back() == ' ') folded.pop_back(), starts.pop_back();
  starts.push_back(uint32_t(folded.size()));
  const size_t count = starts.size() - 1;  // code points
  std::vector<uint64_t> hashes;
  if (count == 0) return hashes;
  const size_t shingles = count < size_t(k) ? 1 : count - size_t(k) + 1;
  hashes.reserve(shingles);
  for (size_t i = 0; i < shingles; ++i) {
    const size_t end = std::min(count, i + size_t(k));
    hashes.push_back(XXH3_64bits(folded.data() + starts[i], starts[end] - starts[i]));
  }
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  return hashes;
}

double jaccard(std::span<const uint64_t> a, std::span<const uint64_t> b) {
  if (a.empty() && b.empty()) return 1;
  size_t i = 0, j = 0, common = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) {
      ++common, ++i, ++j;
    } else if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return double(common) / double(a.size() + b.size() - common);
}

std::vector<uint32_t> minhash_signature(std::span<const uint64_t> shingles, int permutations, uint64_t seed) {
  // Slot i hashes the shingle hash, folded to 32 bits, XOR a seeded key through
  // a 32-bit integer mixer (Wellons' lowbias32): 32-bit multiplies and shifts
  // instead of a full hash per slot. Slots go in blocks of a fixed width held in
  // local arrays, so that the compiler vectorises them (AVX2: eight at a time).
  constexpr size_t kBlock = 8;
  const size_t slots = static_cast<size_t>(permutations);
  std::vector<uint32_t> keys(slots);
  uint64_t state = seed;
  for (uint32_t& key : keys) key = uint32_t(splitmix64(state));
  std::vector<uint32_t> signature(slots, UINT32_MAX);
  for (size_t base = 0; base < slots; base += kBlock) {
    const size_t width = std::min(kBlock, slots - base);
    uint32_t key[kBlock] = {}, low[kBlock];
    std::copy_n(keys.begin() + ptrdiff_t(base), width, key);
    std::fill_n(low, kBlock, UINT32_MAX);
    for (uint64_t shingle : shingles) {
      const uint32_t x = uint32_t(shingle ^ (shingle >> 32));
      for (size_t lane = 0; lane < kBlock; ++lane) {
        uint32_t h = x ^ key[lane];
        h ^= h >> 16;
        h *= 0x7feb352dU;
        h ^= h >> 15;
        h *= 0x846ca68bU;
        h ^= h >> 16;
        low[lane] = std::min(low[lane], h);
      }
    }
    std::copy_n(low, width, signature.begin() + ptrdiff_t(base));
  }
  return signature;
}

double estimated_jaccard(std::span<const uint32_t> a, std::span<const uint32_t> b) {
  WHET_ASSERT(a.size() == b.size() && !a.empty());
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return double(same) / double(a.size());
}

std::vector<uint64_t> lsh_band_keys(std::span<const uint32_t> signature, int bands) {
  WHET_ASSERT(bands > 0 && signature.size() % size_t(bands) == 0);
  const size_t rows = signature.size() / size_t(bands);
  std::vector<uint64_t> keys(static_cast<size_t>(bands));
  for (size_t band = 0; band < keys.size(); ++band)
    keys[band] = XXH3_64bits_withSeed(signature.data() + band * rows, rows * sizeof(uint32_t), band);
  return keys;
}

void for_each_lsh_candidate(std::span<const uint64_t> band_keys, int bands,
                            const std::function<void(uint32_t, uint32_t)>& visit) {
  const size_t items = band_keys.size() / size_t(bands);
  std::vector<std::pair<uint64_t, uint32_t>> keys(items);
  for (size_t band = 0; band < size_t(bands); ++band) {
    for (size_t i = 0; i < items; ++i) keys[i] = {band_keys[i * size_t(bands) + band], uint32_t(i)};
    std::sort(keys.begin(), keys.end());
    for (size_t run = 0; run < keys.size();) {
      size_t end = run + 1;
      while (end < keys.size() && keys[end].first == keys[run].first) ++end;
      for (size_t j = run + 1; j < end; ++j)
        for (size_t i = j > run + kMaxBucketPairs ? j - kMaxBucketPairs : run; i < j; ++i)
          visit(keys[i].second, keys[j].second);
      run = end;
    }
  }
}

}  // namespace whet
