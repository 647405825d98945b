#include "eval/text_similarity.h"

#include <algorithm>
#include <vector>

#include "core/utf8.h"

namespace whet {

double fuzzy_match(std::string_view a, std::string_view b) {
  std::vector<int32_t> x, y;
  for (const CodePoint& c : code_points(a)) x.push_back(c.value);
  for (const CodePoint& c : code_points(b)) y.push_back(c.value);
  if (x.empty() && y.empty()) return 1.0;
  // The longest common subsequence, two rows of the table at a time.
  std::vector<size_t> previous(y.size() + 1, 0), current(y.size() + 1, 0);
  for (size_t i = 1; i <= x.size(); ++i) {
    for (size_t j = 1; j <= y.size(); ++j)
      current[j] = x[i - 1] == y[j - 1] ? previous[j - 1] + 1 : std::max(previous[j], current[j - 1]);
    std::swap(previous, current);
  }
  return 2.0 * double(previous[y.size()]) / double(x.size() + y.size());
}

}  // namespace whet
