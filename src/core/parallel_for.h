#pragma once
// A parallel loop for bodies that may throw. An exception that escapes an
// OpenMP region ends the program, so each iteration's is caught and the one
// of the lowest index is rethrown on the calling thread after the loop: the
// same error a serial loop would have stopped at.
#include <cstddef>
#include <exception>

namespace whet {

template <typename Body>
void parallel_for(size_t n, const Body& body, size_t chunk = 64) {
  std::exception_ptr first;
  size_t first_index = n;
#pragma omp parallel for schedule(dynamic, chunk)
  for (size_t i = 0; i < n; ++i) {
    try {
      body(i);
    } catch (...) {
#pragma omp critical(whet_parallel_for)
      if (i < first_index) first = std::current_exception(), first_index = i;
    }
  }
  if (first) std::rethrow_exception(first);
}

}  // namespace whet
