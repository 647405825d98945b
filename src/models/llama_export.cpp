#include "models/llama_export.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include <fmt/ranges.h>

#include "core/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "kernels/rope.h"
#include "models/lora_gguf.h"
#include "models/lora_merge.h"
#include "models/lora_peft.h"
#include "models/model_family.h"

namespace whet {

namespace {

constexpr DType kExportDtypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q5_1};

struct FormatInfo {
  ExportFormat format;
  std::string_view name, description;
  std::vector<DType> dtypes;  // the first is the default
};

const std::vector<FormatInfo>& formats() {
  static const std::vector<FormatInfo> kFormats = {
      {ExportFormat::Hf, "hf", "Hugging Face directory", {DType::F32, DType::F16, DType::BF16}},
      {ExportFormat::Gguf, "gguf", "GGUF",
       {DType::F16, DType::F32, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q5_1}},
      {ExportFormat::Peft, "peft", "PEFT adapter directory", {DType::F32}},
      {ExportFormat::GgufLora, "gguf-lora", "GGUF LoRA adapter", {DType::F32, DType::F16, DType::BF16, DType::Q8_0}},
  };
  return kFormats;
}

const FormatInfo& info_of(ExportFormat format) {
  for (const FormatInfo& f : formats())
    if (f.format == format) return f;
  WHET_ASSERT(false && "export format without an entry");
}

void check_dtype(ExportFormat format, DType dtype) {
  const FormatInfo& f = info_of(format);
  if (std::ranges::find(f.dtypes, dtype) != f.dtypes.end()) return;
  std::vector<std::string> names;
  for (DType d : f.dtypes) names.push_back(export_dtype_name(d));
  fail("export", "--to {} writes {}, not {}", f.name, fmt::join(names, ", "), export_dtype_name(dtype));
}

const LlamaLora& adapter_of(const LoadedModel& loaded, ExportFormat format) {
  if (!loaded.adapter)
    fail(loaded.path, "--to {} writes an adapter, and none was given (--adapter PEFT_DIR or FILE.gguf)",
         info_of(format).name);
  return *loaded.adapter;
}

// The model as it answers: with its adapter, if any, folded into the base weights.
LlamaModel merged_model(const LoadedModel& loaded) {
  LlamaModel model = loaded.model;  // shares the base's storage; merge_lora gives adapted weights their own
  if (loaded.adapter) merge_lora(model, *loaded.adapter);
  return model;
}

std::vector<int64_t> file_shape(const Weight& w) {
  return w.rows == 1 ? std::vector<int64_t>{w.cols} : std::vector<int64_t>{w.rows, w.cols};
}

// llama.cpp's llama_ftype numbering, shown by its tools as the model's type.
int gguf_file_type(DType dtype) {
  switch (dtype) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q8_0: return 7;
    case DType::Q5_0: return 8;
    case DType::Q5_1: return 9;
    case DType::BF16: return 32;
    default: return 0;
  }
}

// The matrix that makes the logits: llama-quantize keeps it at more bits than the rest.
bool is_output_matrix(const std::string& name, const LlamaConfig& c) {
  return name == "output.weight" || (name == "token_embd.weight" && c.tie_word_embeddings);
}

// Below 8 bits (q4_0, q5_0, q5_1) that matrix is written as Q8_0.
DType gguf_matrix_type(const std::string& name, const LlamaConfig& c, DType dtype) {
  const bool below_8_bits = dtype == DType::Q4_0 || dtype == DType::Q5_0 || dtype == DType::Q5_1;
  return below_8_bits && is_output_matrix(name, c) ? DType::Q8_0 : dtype;
}

// llama.cpp gives llama3-style scaling as per-frequency divisors in rope_freqs.weight.
std::vector<float> rope_frequency_divisors(const LlamaModel& m) {
  RopeScaling none;
  const std::vector<float> base = rope_inverse_frequencies(m.config.head_dim, m.config.rope_theta, none);
  std::vector<float> divisors(base.size());
  for (size_t i = 0; i < base.size(); ++i) divisors[i] = base[i] / m.rope_inv_freq[i];
  return divisors;
}

bool has_scaled_frequencies(const std::vector<float>& divisors) {
  for (float d : divisors)
    if (std::fabs(d - 1.0f) > 1e-6f) return true;
  return false;
}

void add_model_metadata(GgufWriter& out, const LoadedModel& loaded, DType dtype) {
  const LlamaConfig& c = loaded.model.config;
  const ModelFamily& family = family_of(c);
  const std::string arch(family.gguf_name);
  auto key = [&](const char* suffix) { return arch + "." + suffix; };
  out.set("general.architecture", GgufValue::make_string(arch));
  out.set("general.type", GgufValue::make_string("model"));
  out.set("general.name", GgufValue::make_string(std::filesystem::path(loaded.path).filename().string()));
  out.set("general.file_type", GgufValue::make_u32(gguf_file_type(dtype)));
  // ggml's version of the quantized block layouts; llama.cpp writes 2 into every quantized file.
  if (is_quantized(dtype)) out.set("general.quantization_version", GgufValue::make_u32(2));
  out.set(key("context_length"), GgufValue::make_u32(c.max_position_embeddings));
  out.set(key("embedding_length"), GgufValue::make_u32(c.hidden_size));
  out.set(key("block_count"), GgufValue::make_u32(c.num_layers));
  out.set(key("feed_forward_length"), GgufValue::make_u32(c.intermediate_size));
  out.set(key("attention.head_count"), GgufValue::make_u32(c.num_heads));
  out.set(key("attention.head_count_kv"), GgufValue::make_u32(c.num_kv_heads));
  out.set(key("attention.key_length"), GgufValue::make_u32(c.head_dim));
  out.set(key("attention.value_length"), GgufValue::make_u32(c.head_dim));
  if (!c.learned_positions) {
    out.set(key("rope.freq_base"), GgufValue::make_f32(c.rope_theta));
    out.set(key("rope.dimension_count"), GgufValue::make_u32(c.head_dim));
  }
  // A LayerNorm family writes its own epsilon key.
  if (c.norm == NormKind::Rms) out.set(key("attention.layer_norm_rms_epsilon"), GgufValue::make_f32(c.norm_eps));
  out.set(key("vocab_size"), GgufValue::make_u32(c.vocab_size));
  if (c.rope_scaling.type == RopeScalingType::Linear) {
    out.set(key("rope.scaling.type"), GgufValue::make_string("linear"));
    out.set(key("rope.scaling.factor"), GgufValue::make_f32(c.rope_scaling.factor));
  }
  family.to_gguf(c, out);
  loaded.tokenizer.add_gguf_metadata(out);
}

}  // namespace

std::optional<ExportFormat> export_format_from_name(std::string_view name) {
  for (const FormatInfo& f : formats())
    if (f.name == name) return f.format;
  return std::nullopt;
}

std::string_view export_format_name(ExportFormat format) { return info_of(format).name; }
std::string_view export_format_description(ExportFormat format) { return info_of(format).description; }

std::string export_dtype_name(DType dtype) {
  std::string name(dtype_name(dtype));
  for (char& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return name;
}

const std::vector<std::string>& export_dtype_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (DType d : kExportDtypes) names.push_back(export_dtype_name(d));
    return names;
  }();
  return kNames;
}

std::optional<DType> export_dtype_from_name(std::string_view name) {
  for (DType d : kExportDtypes)
    if (export_dtype_name(d) == name) return d;
  return std::nullopt;
}

DType default_export_dtype(ExportFormat format) { return info_of(format).dtypes.front(); }

Weight gguf_encoded(const Weight& w, DType wanted) {
  DType dtype = wanted;
  if (w.rows == 1) dtype = DType::F32;
  else if (is_quantized(wanted) && w.cols % dtype_info(wanted).block_elems != 0) dtype = DType::F16;
  return w.dtype == dtype ? w : convert_weight(w, dtype);
}

void export_model(const LoadedModel& loaded, const std::string& output, ExportFormat format, DType dtype) {
  check_dtype(format, dtype);
  switch (format) {
    case ExportFormat::Hf: return export_hf_dir(loaded, output, dtype);
    case ExportFormat::Gguf: return export_gguf(loaded, output, dtype);
    case ExportFormat::Peft: return save_peft_adapter(adapter_of(loaded, format), loaded.model.config, output, loaded.path);
    case ExportFormat::GgufLora:
      return save_gguf_lora(adapter_of(loaded, format), loaded.model.config, output, dtype);
  }
}

void export_hf_dir(const LoadedModel& loaded, const std::string& dir, DType dtype) {
  check_dtype(ExportFormat::Hf, dtype);
  LlamaModel model = merged_model(loaded);
  if (model.config.norm_weights_offset_by_one) offset_norm_weights(model.weights, model.config, -1.0f);
  if (model.config.rope_scaling.type == RopeScalingType::None && has_scaled_frequencies(rope_frequency_divisors(model)))
    fail(loaded.path, "per-frequency rope factors (rope_freqs.weight) have no config.json equivalent");
  std::filesystem::create_directories(dir);
  std::vector<Weight> kept;  // owns converted data until written
  std::vector<TensorView> views;
  for_each_file_tensor(model.weights, model.config, [&](const std::string& name, const std::string& hf_name, const Weight& w) {
    kept.push_back(gguf_encoded(w, dtype));
    if (hf_transposed(model.config, name, w.rows)) kept.back() = transposed(kept.back());
    const Weight& e = kept.back();
    views.push_back(TensorView{hf_name, e.dtype, file_shape(e), e.data, e.rows * e.row_bytes()});
  });
  write_safetensors(dir + "/model.safetensors", views, {{"format", "pt"}});
  write_hf_config(dir + "/config.json", model.config);
  loaded.tokenizer.write_hf_files(dir);
}

void export_gguf(const LoadedModel& loaded, const std::string& path, DType dtype) {
  check_dtype(ExportFormat::Gguf, dtype);
  const LlamaModel model = merged_model(loaded);
  const LlamaConfig& c = model.config;
  GgufWriter out;
  add_model_metadata(out, loaded, dtype);
  std::vector<Weight> kept;
  kept.reserve(4 + 16 * c.num_layers);
  const bool interleaved = family_of(c).gguf_qk_interleaved;
  for_each_file_tensor(model.weights, c, [&](const std::string& name, const std::string&, const Weight& w) {
    Weight e = gguf_encoded(w, gguf_matrix_type(name, c, dtype));
    if (interleaved && name.ends_with("attn_q.weight")) e = permute_qk_rows(e, c.num_heads);
    if (interleaved && name.ends_with("attn_k.weight")) e = permute_qk_rows(e, c.num_kv_heads);
    kept.push_back(std::move(e));
    out.add_tensor(name, kept.back().dtype, file_shape(kept.back()), kept.back().data,
                   kept.back().rows * kept.back().row_bytes());
  });
  const std::vector<float> divisors = rope_frequency_divisors(model);
  const RopeScalingType scaling = c.rope_scaling.type;
  if ((scaling == RopeScalingType::None || scaling == RopeScalingType::Llama3) && has_scaled_frequencies(divisors)) {
    out.add_tensor("rope_freqs.weight", DType::F32, {int64_t(divisors.size())}, divisors.data(),
                   divisors.size() * sizeof(float));
  }
  out.write(path);
}

}  // namespace whet
