#pragma once
// fuzzy_match for the text_similarity grader: 2·LCS / (|a| + |b|) over Unicode
// code points, the normalised indel similarity (RapidFuzz's fuzz.ratio / 100).
// Two empty texts are equal (1). The grader's ROUGE scores are eval/metrics.h's.
#include <string_view>

namespace whet {

double fuzzy_match(std::string_view a, std::string_view b);

}  // namespace whet
