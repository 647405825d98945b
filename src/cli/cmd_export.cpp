// whet export: a model, or its LoRA adapter, in the forms other tools read:
// GGUF for llama.cpp and its kin, a Hugging Face directory, the adapter alone in
// PEFT layout or as a GGUF LoRA adapter. `merge` and `convert` are the same
// export_model() behind older command lines.
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "models/llama_export.h"

namespace whet::cli {

namespace {

struct ExportOptions {
  std::string output;
  std::string to;
  std::string dtype;  // empty: the format's default
};

void run_export(const ModelOptions& m, const ExportOptions& e) {
  const ExportFormat format = *export_format_from_name(e.to);
  const DType dtype = e.dtype.empty() ? default_export_dtype(format) : *export_dtype_from_name(e.dtype);
  const LoadedModel loaded = m.load();
  const bool merging = loaded.adapter && (format == ExportFormat::Hf || format == ExportFormat::Gguf);
  export_model(loaded, e.output, format, dtype);
  std::fprintf(stderr, "wrote %s (%s, %s%s)\n", e.output.c_str(), std::string(export_format_description(format)).c_str(),
               export_dtype_name(dtype).c_str(), merging ? ", adapter merged" : "");
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "export", "Write a model (an adapter merged in) as GGUF or a Hugging Face directory, or an adapter alone in "
                "PEFT layout or as a GGUF LoRA adapter");
  command->footer(
      "\nExamples:\n"
      "  whet export model.gguf out.gguf --adapter run/adapter --to gguf --dtype q4_0\n"
      "  whet export model.gguf lora.gguf --adapter run/adapter --to gguf-lora\n"
      "  whet export model.gguf out-peft --adapter lora.gguf --to peft\n"
      "The GGUF files carry the tokenizer, the chat template and the end-of-turn and EOS tokens (docs/export.md).");
  auto m = std::make_shared<ModelOptions>();
  auto e = std::make_shared<ExportOptions>();
  command->add_option("model,--model", m->path, "Base model: GGUF file or Hugging Face model directory")->required();
  command->add_option("output", e->output, "Output .gguf file (gguf, gguf-lora) or directory (hf, peft)")->required();
  m->add_loading_options(*command);
  command->add_option("--adapter", m->adapter,
                      "LoRA adapter (PEFT directory or GGUF LoRA file): merged into the model for --to gguf/hf, "
                      "written alone for --to peft/gguf-lora");
  command->add_option("--to", e->to, "Output format: gguf, hf, peft (adapter alone) or gguf-lora (adapter alone)")
      ->check(CLI::IsMember({"gguf", "hf", "peft", "gguf-lora"}))
      ->required();
  command->add_option("--dtype", e->dtype,
                      "Tensor type. gguf: f16 (default), f32, bf16, q8_0, q4_0, q5_0, q5_1; hf: f32 (default), f16, bf16; "
                      "peft: f32; gguf-lora: f32 (default), f16, bf16, q8_0")
      ->check(CLI::IsMember(export_dtype_names()));
  command->callback([=] { run_export(*m, *e); });
}

}  // namespace whet::cli
