// A LoRA adapter trained and written by `whet train` loads in Hugging Face PEFT
// (PeftModel.from_pretrained on the folder as written) and computes there what
// it computes in Whet: tests/python/check_peft_adapter.py compares PEFT's
// logits, unmerged and after merge_and_unload, with Whet's own forward pass of
// the same adapter on the same tokens.
//
// Tolerance 1e-4: both sides run the same fp32 weights in fp32, so they differ
// only by summation order (about 1e-6 on these logits of magnitude 1-5, as the
// PyTorch parity tests measure). A wrong layout (A and B swapped or transposed,
// a wrong scale, q/k rows permuted, a module PEFT does not map) moves the logits
// by the adapter's whole effect, which the script requires to be 100x the tolerance.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/run_whet.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "models/peft_oracle.h"
#include "test_support.h"

namespace whet {
namespace {

constexpr double kTolerance = 1e-4;

// Eight chat examples: enough steps at a high learning rate for the adapter's B
// (zero at the start) to move the logits well past the tolerance.
std::string write_chat_data(const std::string& dir) {
  const std::string path = dir + "/train.jsonl";
  std::ofstream out(path);
  for (int i = 0; i < 8; ++i)
    out << R"({"messages": [{"role": "user", "content": "where is the tin )" << i
        << R"("}, {"role": "assistant", "content": "the tin is in the sea"}]})" << "\n";
  return path;
}

TEST(PeftInterop, WhetTrainedAdapterGivesWhetsLogitsInPeft) {
  WHET_REQUIRE(test::peft_missing().empty(), test::peft_missing());
  // Plain LoRA on four projections of a GQA model with tied embeddings; rsLoRA on
  // all seven of a multi-query model whose head_dim is not hidden / heads.
  // The tiny Phi-3's context of 64 holds neither the general replay texts nor the forgetting gate's.
  const std::string kPhi3Context = "--set replay_data=none --set forgetting_gate=false";
  // Phi-3 fuses q, k, v into qkv_proj and gate, up into gate_up_proj: Whet's
  // adapters on the parts are written stacked onto those modules (with
  // rank_pattern and alpha_pattern), all seven projections and only q and v.
  // Its logits are compared past longrope's original 16 positions only.
  struct Case {
    std::string name, variant, options;
    int longer_than = 0;
  };
  for (const Case& c :
       {Case{"gqa_tied", "gqa_tied", "--set lora_r=4 --set lora_alpha=12 --set lora_target_modules=[q,k,v,o]"},
        Case{"untied_llama3", "untied_llama3",
             "--set lora_r=8 --set lora_alpha=4 --set use_rslora=true --set lora_target_modules=all-linear"},
        Case{"phi3_all", "phi3_longrope", kPhi3Context + " --set lora_r=4 --set lora_alpha=8 --set lora_target_modules=all-linear", 16},
        Case{"phi3_qv", "phi3_longrope",
             kPhi3Context + " --set lora_r=2 --set lora_alpha=3 --set use_rslora=true --set lora_target_modules=[q,v]", 16}}) {
    SCOPED_TRACE(c.name);
    const std::string dir = test::scratch_dir("peft_interop_" + c.name);
    const std::string variant_dir = test::tiny_model(c.variant);
    const test::RunResult trained =
        test::run_whet("train --model " + variant_dir + "/hf --data " + write_chat_data(dir) +
                       " --method lora --epochs 1 --lr 0.02 --output " + dir + "/run " + c.options +
                       " --set sample_packing=false --set lora_dropout=0");
    ASSERT_EQ(trained.exit_code, 0) << trained.err;
    const std::string adapter = dir + "/run/adapter";
    std::filesystem::create_directories(dir + "/whet");
    // Whet's side: the adapter read back from the folder that PEFT will read.
    const LoadedModel loaded = load_model(variant_dir + "/hf");
    test::write_whet_logits(loaded, load_peft_adapter(adapter, loaded.model.config), variant_dir, dir + "/whet");

    const test::RunResult check =
        test::check_with_peft(variant_dir + "/hf", adapter, dir + "/whet", kTolerance, c.longer_than);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_NE(check.out.find("peft adapter: ok"), std::string::npos) << check.out << check.err;
    std::printf("%s: %s", c.name.c_str(), check.out.c_str());
  }
}

}  // namespace
}  // namespace whet
