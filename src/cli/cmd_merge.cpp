// whet merge: folds a LoRA adapter into its base model and writes the result as
// a plain model, for tools that know nothing of adapters (llama.cpp, transformers).
// The same as `whet export BASE OUTPUT --adapter ADAPTER --to hf|gguf`.
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "models/llama_export.h"

namespace whet::cli {

namespace {

struct MergeOptions {
  std::string base, adapter, output;
  std::string to = "hf";
  std::string dtype;  // empty: f32 for hf, f16 for gguf
  float adapter_scale = 1.0f;
};

void run_merge(const MergeOptions& o) {
  const ExportFormat format = *export_format_from_name(o.to);
  const DType dtype = o.dtype.empty() ? default_export_dtype(format) : *export_dtype_from_name(o.dtype);
  // The base stays in its file's encoding: merge_lora decodes each adapted matrix
  // and forms W + α·scale·B·A in fp32, so the update is not lost to the base's rounding.
  LoadedModel loaded = load_model(o.base);
  loaded.adapter = load_adapter(o.adapter, loaded, o.adapter_scale);
  export_model(loaded, o.output, format, dtype);
  std::fprintf(stderr, "wrote %s (%s, %s)\n", o.output.c_str(), std::string(export_format_description(format)).c_str(),
               export_dtype_name(dtype).c_str());
}

}  // namespace

void add_merge_command(CLI::App& app) {
  auto* command = app.add_subcommand("merge", "Fold a LoRA adapter into its base model and write the merged model");
  auto o = std::make_shared<MergeOptions>();
  command->add_option("base,--model", o->base, "Base model: GGUF file or Hugging Face model directory")->required();
  command->add_option("adapter", o->adapter, "LoRA adapter trained on the base: PEFT directory or GGUF LoRA file")
      ->required();
  command->add_option("output", o->output, "Output directory (hf) or .gguf file")->required();
  command->add_option("--to", o->to, "Output format: hf (Hugging Face directory) or gguf")
      ->check(CLI::IsMember({"hf", "gguf"}))
      ->capture_default_str();
  command->add_option("--dtype", o->dtype,
                      "Tensor type: f32, f16, bf16, q8_0, q4_0, q5_0 and q5_1 (gguf only); default f32 for hf, f16 for gguf")
      ->check(CLI::IsMember(export_dtype_names()));
  add_adapter_scale(*command, o->adapter_scale);
  command->callback([=] { run_merge(*o); });
}

}  // namespace whet::cli
