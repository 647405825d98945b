#pragma once
#include <cstdint>

namespace whet {

// Peak resident set size of this process so far, in MiB.
double peak_rss_mib();
// CPU time (user + system) of all this process's threads so far, in seconds.
double process_cpu_seconds();

// The memory the machine can give without swapping (Linux's MemAvailable), in bytes; 0 when unknown.
int64_t available_memory_bytes();

}  // namespace whet
