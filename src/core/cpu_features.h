#pragma once
// The instruction sets of the CPU running Whet, read at run time, for the
// benchmarks' headers (results are compared across machines that differ) and
// for the choices that depend on them.
#include <string>

namespace whet {

// "Intel(R) Xeon(R) Processor; AVX2 FMA AVX-512 AVX512_BF16 AMX" (the model name, then
// which of the vector extensions Whet's kernels or oneDNN can use are present).
std::string cpu_description();

// Whether the CPU multiplies bf16 matrices in hardware (AVX512_BF16 or AMX): there
// bf16 weights are faster than fp32 ones; elsewhere oneDNN converts them on the way.
bool cpu_has_bf16_units();

// Whether this thread's process may use AMX tiles for bf16 products: the CPU has
// them and Linux granted the process their state (asked for once, on the first call;
// a process must ask before its first tile instruction, or that instruction faults).
bool amx_tiles_usable();

}  // namespace whet
