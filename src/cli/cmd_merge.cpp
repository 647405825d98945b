// whet merge: folds a LoRA adapter into its base model and writes the result as
// a plain model, for tools that know nothing of adapters (llama.cpp, transformers).
#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "models/llama_export.h"
#include "models/lora_merge.h"
#include "models/lora_peft.h"

namespace whet::cli {

namespace {

const std::map<std::string, DType> kDtypes = {
    {"f32", DType::F32}, {"f16", DType::F16}, {"bf16", DType::BF16}, {"q8_0", DType::Q8_0}};

struct MergeOptions {
  std::string base, adapter, output;
  std::string to = "hf";
  std::string dtype;  // empty: f32 for hf, f16 for gguf
};

void run_merge(const MergeOptions& o) {
  const std::string dtype_name = o.dtype.empty() ? (o.to == "hf" ? "f32" : "f16") : o.dtype;
  const DType dtype = kDtypes.at(dtype_name);
  if (o.to == "hf" && dtype == DType::Q8_0)
    fail("merge", "--dtype q8_0 needs --to gguf; Hugging Face directories hold f32, f16 or bf16");
  // The sum W + scale·B·A is formed in fp32 whatever the base file holds, so the
  // adapter's small update is not lost to the base's rounding before export.
  LoadedModel loaded = load_model(o.base, WeightFormat::F32);
  const LlamaLora lora = load_peft_adapter(o.adapter, loaded.model.config);
  std::fprintf(stderr, "merging adapter %s (%s) into %s (%d layers)\n", o.adapter.c_str(),
               adapter_summary(lora.config).c_str(), o.base.c_str(), loaded.model.config.num_layers);
  merge_lora(loaded.model, lora);
  if (o.to == "hf") {
    export_hf_dir(loaded, o.output, dtype);
  } else {
    export_gguf(loaded, o.output, dtype);
  }
  std::fprintf(stderr, "wrote %s (%s, %s)\n", o.output.c_str(), o.to == "hf" ? "Hugging Face directory" : "GGUF",
               dtype_name.c_str());
}

}  // namespace

void add_merge_command(CLI::App& app) {
  auto* command = app.add_subcommand("merge", "Fold a LoRA adapter into its base model and write the merged model");
  auto o = std::make_shared<MergeOptions>();
  command->add_option("base", o->base, "Base model: GGUF file or Hugging Face model directory")->required();
  command->add_option("adapter", o->adapter, "PEFT LoRA adapter directory trained on the base")->required();
  command->add_option("output", o->output, "Output directory (hf) or .gguf file")->required();
  command->add_option("--to", o->to, "Output format: hf (Hugging Face directory) or gguf")
      ->check(CLI::IsMember({"hf", "gguf"}))
      ->capture_default_str();
  command->add_option("--dtype", o->dtype,
                      "Tensor type: f32, f16, bf16, q8_0 (gguf only); default f32 for hf, f16 for gguf")
      ->check(CLI::IsMember(kDtypes));
  command->callback([=] { run_merge(*o); });
}

}  // namespace whet::cli
