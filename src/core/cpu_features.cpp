#include "core/cpu_features.h"

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

namespace whet {

// Linux lists the extensions in /proc/cpuinfo's "flags" line; elsewhere the
// description is the compiler's knowledge of the running CPU alone.
std::string cpu_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  std::set<std::string> flags;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name") model = value;
    if (key == "flags") {
      std::istringstream words(value);
      for (std::string w; words >> w;) flags.insert(w);
      break;  // every core lists the same
    }
  }
  const std::pair<const char*, const char*> kShown[] = {
      {"avx2", "AVX2"}, {"fma", "FMA"}, {"avx512f", "AVX-512"}, {"avx512_bf16", "AVX512_BF16"}, {"amx_tile", "AMX"}};
  std::string isa;
  for (const auto& [flag, name] : kShown)
    if (flags.count(flag)) isa += (isa.empty() ? "" : " ") + std::string(name);
  return model + "; " + (isa.empty() ? "no AVX2" : isa);
}

}  // namespace whet
