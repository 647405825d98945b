#pragma once
// A tensor as it sits in a model file: raw bytes in the file's encoding,
// shape in PyTorch order (outermost dimension first; GGUF's ne[] reversed).
// `data` points into a mapping kept alive by whoever owns the file object.
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace whet {

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

}  // namespace whet
