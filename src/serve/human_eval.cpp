#include "serve/human_eval.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <random>

#include "core/error.h"

namespace whet::serve {

std::vector<HumanEvalItem> plan_items(size_t prompts, const std::vector<std::string>& models, uint64_t seed) {
  WHET_ASSERT(prompts > 0 && models.size() >= 2);
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t i = 0; i < models.size(); ++i)
    for (size_t j = i + 1; j < models.size(); ++j) pairs.emplace_back(i, j);
  std::mt19937_64 rng(seed);
  std::shuffle(pairs.begin(), pairs.end(), rng);
  // Consecutive turns of the cycle are different pairs, since a prompt takes at most all of them.
  const size_t per_prompt = (pairs.size() + prompts - 1) / prompts;
  std::vector<HumanEvalItem> items;
  size_t turn = 0;
  for (size_t p = 0; p < prompts; ++p)
    for (size_t k = 0; k < per_prompt; ++k, ++turn) {
      const auto [i, j] = pairs[turn % pairs.size()];
      items.push_back({fmt::format("item-{}", items.size() + 1), int64_t(p), models[i], models[j]});
    }
  return items;
}

bool second_shown_first(uint64_t seed, std::string_view item_id, std::string_view rater) {
  // The NUL keeps ("item-1", "2x") and ("item-12", "x") apart.
  std::string key(item_id);
  key += '\0';
  key += rater;
  return (XXH3_64bits_withSeed(key.data(), key.size(), seed) >> 17) & 1;
}

int pair_judgment(const HumanEvalRating& rating, const HumanEvalItem& item) {
  if (rating.choice == "tie") return 2;
  if (rating.choice == "both_bad") return 3;
  WHET_ASSERT(rating.choice == "A" || rating.choice == "B");
  const std::string& winner = rating.choice == "A" ? rating.model_a : rating.model_b;
  WHET_ASSERT(winner == item.first || winner == item.second);
  return winner == item.first ? 0 : 1;
}

}  // namespace whet::serve
