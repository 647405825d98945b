#include "core/cpu_features.h"

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

namespace whet {

namespace {

struct CpuInfo {
  std::string model = "unknown CPU";
  std::set<std::string> flags;
};

// Linux lists the extensions in /proc/cpuinfo's "flags" line; elsewhere there is
// no list, and the description is the model's name alone.
CpuInfo read_cpu_info() {
  std::ifstream in("/proc/cpuinfo");
  CpuInfo info;
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name") info.model = value;
    if (key == "flags") {
      std::istringstream words(value);
      for (std::string w; words >> w;) info.flags.insert(w);
      break;  // every core lists the same
    }
  }
  return info;
}

const CpuInfo& cpu_info() {
  static const CpuInfo info = read_cpu_info();
  return info;
}

}  // namespace

std::string cpu_description() {
  const CpuInfo& info = cpu_info();
  const std::pair<const char*, const char*> kShown[] = {
      {"avx2", "AVX2"}, {"fma", "FMA"}, {"avx512f", "AVX-512"}, {"avx512_bf16", "AVX512_BF16"}, {"amx_tile", "AMX"}};
  std::string isa;
  for (const auto& [flag, name] : kShown)
    if (info.flags.count(flag)) isa += (isa.empty() ? "" : " ") + std::string(name);
  return info.model + "; " + (isa.empty() ? "no AVX2" : isa);
}

bool cpu_has_bf16_units() { return cpu_info().flags.count("avx512_bf16") || cpu_info().flags.count("amx_bf16"); }

bool amx_tiles_usable() {
  static const bool usable = [] {
    if (!cpu_info().flags.count("amx_tile") || !cpu_info().flags.count("amx_bf16")) return false;
#if defined(__linux__) && defined(__x86_64__)
    // arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), x86-64 Linux only: the tile data is a large
    // piece of state that Linux saves per thread only for processes that asked.
    constexpr int kRequestPermission = 0x1023, kTileData = 18;
    return syscall(SYS_arch_prctl, kRequestPermission, kTileData) == 0;
#else
    return false;
#endif
  }();
  return usable;
}

}  // namespace whet
