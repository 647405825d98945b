#pragma once
#include <cstdint>

namespace whet {

// Peak resident set size of this process so far, in MiB.
double peak_rss_mib();

}  // namespace whet
