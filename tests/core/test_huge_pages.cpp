// HugePageAllocator: small buffers as std::allocator's, large ones aligned to
// 2 MiB with their whole 2 MiB spans marked for huge pages where Linux has them.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "core/huge_pages.h"

namespace whet {
namespace {

// The VmFlags line of the mapping that holds `address`, from /proc/self/smaps.
std::string vm_flags_at(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(address);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    if (std::sscanf(line.c_str(), "%lx%c%lx", &begin, &dash, &end) == 3 && dash == '-') inside = begin <= at && at < end;
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return {};
}

TEST(HugePages, LargeBuffersAreAlignedAndMarked) {
  std::vector<float, HugePageAllocator<float>> buffer(size_t(5) << 20 >> 2, 0.0f);  // 5 MiB: two whole spans
  ASSERT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % kHugePageBytes, 0u);
  std::iota(buffer.begin(), buffer.end(), 0.0f);
  EXPECT_EQ(buffer.back(), float(buffer.size() - 1));
  // "hg": MADV_HUGEPAGE took. Only where the kernel has transparent huge pages.
  if (std::filesystem::exists("/sys/kernel/mm/transparent_hugepage/enabled")) {
    EXPECT_NE(vm_flags_at(buffer.data()).find(" hg"), std::string::npos) << vm_flags_at(buffer.data());
  }
}

TEST(HugePages, SmallBuffersComeFromTheUsualHeap) {
  std::vector<uint8_t, HugePageAllocator<uint8_t>> small(1000, 7);
  std::vector<uint8_t, HugePageAllocator<uint8_t>> copy = small;
  EXPECT_EQ(copy, small);
  EXPECT_EQ(vm_flags_at(small.data()).find(" hg"), std::string::npos);
}

}  // namespace
}  // namespace whet
