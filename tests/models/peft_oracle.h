#pragma once
// Hugging Face PEFT as the oracle of an adapter Whet wrote: Whet's logits go to
// a folder as tests/python/check_peft_adapter.py reads them (reference.json +
// logits.bin, every position of the variant's reference sequences), and the
// script loads the base and the adapter folder in transformers + PEFT and
// compares (docs/export.md, "Checked with").
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/run_whet.h"
#include "models/llama.h"
#include "models/model_loader.h"
#include "test_support.h"

namespace whet::test {

inline void write_whet_logits(const LoadedModel& loaded, const LlamaLora& lora, const std::string& variant_dir,
                              const std::string& out) {
  const nlohmann::json reference = nlohmann::json::parse(std::ifstream(variant_dir + "/reference.json"));
  std::ofstream bin(out + "/logits.bin", std::ios::binary);
  std::vector<float> logits;
  for (const auto& s : reference.at("sequences")) {
    const std::vector<int32_t> tokens = s.get<std::vector<int32_t>>();
    KvCache cache(loaded.model.config, int64_t(tokens.size()));
    llama_forward(loaded.model, cache, tokens, logits, /*all_logits=*/true, &lora);
    bin.write(reinterpret_cast<const char*>(logits.data()), std::streamsize(logits.size() * sizeof(float)));
  }
  std::ofstream(out + "/reference.json")
      << nlohmann::json{{"sequences", reference.at("sequences")}, {"vocab_size", loaded.model.config.vocab_size}};
}

// "" when the test virtualenv has transformers and PEFT, else what is missing (for WHET_REQUIRE).
inline std::string peft_missing() {
  const std::string python = test_python();
  if (run_whet_command(python + " -c 'import peft, transformers'").exit_code == 0) return "";
  return "transformers + peft in " + python + " (scripts/setup_test_venv.sh installs them) are missing";
}

// check_peft_adapter.py on BASE_DIR (a Hugging Face directory), ADAPTER and Whet's logits in WHET_DIR,
// comparing sequences longer than `longer_than` tokens.
inline RunResult check_with_peft(const std::string& base_dir, const std::string& adapter, const std::string& whet_dir,
                                 double tolerance, int longer_than) {
  const std::string python = test_python();
  return run_whet_command(python + " " + source_path("tests/python/check_peft_adapter.py") + " --base " + base_dir +
                          " --adapter " + adapter + " --whet " + whet_dir + " --tolerance " + std::to_string(tolerance) +
                          " --longer-than " + std::to_string(longer_than));
}

}  // namespace whet::test
