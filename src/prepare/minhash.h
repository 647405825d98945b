#pragma once
// MinHash signatures of character shingles and LSH banding over them, for
// near-duplicate detection. Two texts agree on each signature slot with
// probability equal to the Jaccard similarity of their shingle sets, so the
// share of agreeing slots estimates it; banding finds the pairs worth comparing
// without comparing all pairs.
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace whet {

// Hashes (XXH3) of the distinct k-code-point shingles of the text, after case
// folding and with every run of whitespace read as one space; sorted. A text
// shorter than k is one shingle.
std::vector<uint64_t> shingle_hashes(std::string_view text, int k);
double jaccard(std::span<const uint64_t> sorted_a, std::span<const uint64_t> sorted_b);  // exact, on sets

// permutations slots; slot i is the minimum of a seeded multiply-shift hash of the shingles.
std::vector<uint32_t> minhash_signature(std::span<const uint64_t> shingles, int permutations, uint64_t seed);
double estimated_jaccard(std::span<const uint32_t> a, std::span<const uint32_t> b);

// The LSH bucket of each band of a signature: a hash of its rows. Kept instead
// of the signature where memory counts (bands x 8 bytes against permutations x 4).
std::vector<uint64_t> lsh_band_keys(std::span<const uint32_t> signature, int bands);

// Calls visit(i, j), i < j, for the pairs of items whose band keys (bands per
// item, item after item) collide in a band, band after band (a pair colliding
// in several bands is visited for each), so the caller can skip pairs it has
// already joined without a list of all pairs. In a bucket each member is paired
// with at most kMaxBucketPairs earlier ones, so boilerplate that puts many
// texts in one bucket cannot make the work quadratic.
constexpr size_t kMaxBucketPairs = 16;
void for_each_lsh_candidate(std::span<const uint64_t> band_keys, int bands,
                            const std::function<void(uint32_t, uint32_t)>& visit);

}  // namespace whet
