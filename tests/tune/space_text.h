#pragma once
// A search space from text, for the tune tests: its keys checked against a
// few training-config keys, its errors naming space.yaml.
#include <string>
#include <string_view>

#include "tune/search_space.h"

namespace whet::tune {

inline SearchSpace parse_test_space(const std::string& text) {
  constexpr std::string_view kKeys[] = {"learning_rate", "lora_r",    "lora_alpha", "num_epochs", "lora_dropout",
                                        "method",        "optimizer", "momentum",   "use_rslora"};
  return parse_search_space(text, "space.yaml", kKeys);
}

}  // namespace whet::tune
