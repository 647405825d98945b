#pragma once
#include <cstdint>

namespace whet {

// Peak resident set size of this process so far, in MiB.
double peak_rss_mib();
// CPU time (user + system) of all this process's threads so far, in seconds.
double process_cpu_seconds();

}  // namespace whet
