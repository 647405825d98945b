// whet convert: GGUF to a Hugging Face directory and back.
#include <filesystem>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "models/llama_export.h"

namespace whet::cli {

namespace {

struct ConvertOptions {
  std::string output;
  std::string to = "auto";
  std::string dtype = "auto";
};

void run_convert(const ModelOptions& m, const ConvertOptions& c) {
  const LoadedModel model = m.load();
  std::string to = c.to;
  if (to == "auto") to = model.file_format == "gguf" ? "hf" : "gguf";
  std::string dtype_text = c.dtype;
  if (dtype_text == "auto") dtype_text = to == "hf" ? "f32" : "f16";
  std::string upper;
  for (char ch : dtype_text) upper += char(std::toupper(static_cast<unsigned char>(ch)));
  const DType dtype = *dtype_from_name(upper);
  if (to == "hf") {
    export_hf_dir(model, c.output, dtype);
  } else {
    export_gguf(model, c.output, dtype);
  }
  std::fprintf(stderr, "wrote %s (%s, %s)\n", c.output.c_str(), to == "hf" ? "Hugging Face directory" : "GGUF",
               dtype_text.c_str());
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "convert", "Write a model as a Hugging Face directory (from GGUF) or as GGUF (from a Hugging Face directory)");
  auto m = std::make_shared<ModelOptions>();
  auto c = std::make_shared<ConvertOptions>();
  command->add_option("model", m->path, "GGUF file or Hugging Face model directory")->required();
  command->add_option("output", c->output, "Output directory (hf) or .gguf file")->required();
  command->add_option("--to", c->to, "Output format: hf, gguf, or auto (the other one)")
      ->check(CLI::IsMember({"auto", "hf", "gguf"}))
      ->capture_default_str();
  command->add_option("--dtype", c->dtype, "Tensor type: f32, f16, bf16, q8_0 (gguf only); auto: f32 for hf, f16 for gguf")
      ->check(CLI::IsMember({"auto", "f32", "f16", "bf16", "q8_0"}))
      ->capture_default_str();
  command->callback([=] { run_convert(*m, *c); });
}

}  // namespace whet::cli
