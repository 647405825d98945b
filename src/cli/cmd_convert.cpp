// whet convert: GGUF to a Hugging Face directory and back; `whet export` without
// an adapter, the format chosen as the other one by default.
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
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
  const ExportFormat format =
      c.to == "auto" ? (model.file_format == "gguf" ? ExportFormat::Hf : ExportFormat::Gguf) : *export_format_from_name(c.to);
  const DType dtype = c.dtype == "auto" ? default_export_dtype(format) : *export_dtype_from_name(c.dtype);
  export_model(model, c.output, format, dtype);
  std::fprintf(stderr, "wrote %s (%s, %s)\n", c.output.c_str(), std::string(export_format_description(format)).c_str(),
               export_dtype_name(dtype).c_str());
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "convert", "Write a model as a Hugging Face directory (from GGUF) or as GGUF (from a Hugging Face directory)");
  auto m = std::make_shared<ModelOptions>();
  auto c = std::make_shared<ConvertOptions>();
  command->add_option("model,--model", m->path, "GGUF file or Hugging Face model directory")->required();
  command->add_option("output", c->output, "Output directory (hf) or .gguf file")->required();
  command->add_option("--to", c->to, "Output format: hf, gguf, or auto (the other one)")
      ->check(CLI::IsMember({"auto", "hf", "gguf"}))
      ->capture_default_str();
  std::vector<std::string> dtypes = {"auto"};
  dtypes.insert(dtypes.end(), export_dtype_names().begin(), export_dtype_names().end());
  command->add_option("--dtype", c->dtype,
                      "Tensor type: f32, f16, bf16, q8_0, q4_0, q5_0 and q5_1 (gguf only); auto: f32 for hf, f16 for gguf")
      ->check(CLI::IsMember(dtypes))
      ->capture_default_str();
  command->callback([=] { run_convert(*m, *c); });
}

}  // namespace whet::cli
