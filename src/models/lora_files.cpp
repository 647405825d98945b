#include "models/lora_files.h"

#include <filesystem>

#include "models/lora_gguf.h"
#include "models/lora_peft.h"

namespace whet {

LlamaLora load_lora_adapter(const std::string& path, const LlamaConfig& model) {
  // A file can only be the GGUF form; anything else (a missing path included) is
  // taken as a PEFT directory, whose loader says what is missing.
  return std::filesystem::is_regular_file(path) ? load_gguf_lora(path, model) : load_peft_adapter(path, model);
}

}  // namespace whet
