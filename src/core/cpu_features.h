#pragma once
// The instruction sets of the CPU running Whet, read at run time, for the
// benchmarks' headers: results are compared across machines that differ.
#include <string>

namespace whet {

// "Intel(R) Xeon(R) Processor; AVX2 FMA AVX-512 AVX512_BF16 AMX" (the model name, then
// which of the vector extensions Whet's kernels or oneDNN can use are present).
std::string cpu_description();

}  // namespace whet
