#pragma once
// safetensors reader and writer (https://huggingface.co/docs/safetensors).
// Reads single files and sharded checkpoints (model.safetensors.index.json).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "io/tensor_view.h"

namespace whet {

class SafetensorsFile {
 public:
  // One .safetensors file. Throws whet::Error naming the path and, where it applies, the tensor.
  static SafetensorsFile open(const std::string& path);
  // A model directory's weights: model.safetensors, or the shards listed by
  // model.safetensors.index.json (all shards merged into one tensor list).
  static SafetensorsFile open_dir(const std::string& dir);

  std::vector<TensorView> tensors;               // sorted by data offset within each file
  std::map<std::string, std::string> metadata;   // "__metadata__" of the (first) file
  const TensorView* find_tensor(const std::string& name) const;

 private:
  std::vector<std::shared_ptr<MappedFile>> files_;
};

// Writes tensors (F32, F16, BF16, I32 only) with optional string metadata, atomically.
void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace whet
