#include "models/llama_export.h"

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "kernels/rope.h"

namespace whet {

namespace {

DType matrix_dtype(const Weight& w, DType wanted) {
  if (w.rows == 1) return DType::F32;
  if (is_quantized(wanted) && w.cols % dtype_info(wanted).block_elems != 0) return DType::F16;
  return wanted;
}

Weight encoded(const Weight& w, DType dtype) { return w.dtype == dtype ? w : convert_weight(w, dtype); }

std::vector<int64_t> file_shape(const Weight& w) {
  return w.rows == 1 ? std::vector<int64_t>{w.cols} : std::vector<int64_t>{w.rows, w.cols};
}

// llama.cpp's llama_ftype numbering, shown by its tools as the model's type.
int gguf_file_type(DType dtype) {
  switch (dtype) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q8_0: return 7;
    case DType::BF16: return 32;
    default: return 0;
  }
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

}  // namespace

void export_hf_dir(const LoadedModel& loaded, const std::string& dir, DType dtype) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
    fail("convert", "Hugging Face export supports f32, f16 and bf16, not {}", dtype_name(dtype));
  if (loaded.model.config.rope_scaling.type == RopeScalingType::None &&
      has_scaled_frequencies(rope_frequency_divisors(loaded.model)))
    fail("convert", "{}: per-frequency rope factors (rope_freqs.weight) have no config.json equivalent", loaded.path);
  std::filesystem::create_directories(dir);
  std::vector<Weight> kept;  // owns converted data until written
  std::vector<TensorView> views;
  for_each_weight(loaded.model.weights, loaded.model.config, [&](const std::string& name, const Weight& w) {
    kept.push_back(encoded(w, matrix_dtype(w, dtype)));
    const Weight& e = kept.back();
    views.push_back(TensorView{hf_tensor_name(name), e.dtype, file_shape(e), e.data, e.rows * e.row_bytes()});
  });
  write_safetensors(dir + "/model.safetensors", views, {{"format", "pt"}});
  write_hf_config(dir + "/config.json", loaded.model.config);
  loaded.tokenizer.write_hf_files(dir);
}

void export_gguf(const LoadedModel& loaded, const std::string& path, DType dtype) {
  const LlamaConfig& c = loaded.model.config;
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16 && dtype != DType::Q8_0)
    fail("convert", "GGUF export supports f32, f16, bf16 and q8_0, not {}", dtype_name(dtype));
  GgufWriter out;
  out.set("general.architecture", GgufValue::make_string("llama"));
  out.set("general.name", GgufValue::make_string(std::filesystem::path(loaded.path).filename().string()));
  out.set("general.file_type", GgufValue::make_u32(gguf_file_type(dtype)));
  out.set("llama.context_length", GgufValue::make_u32(c.max_position_embeddings));
  out.set("llama.embedding_length", GgufValue::make_u32(c.hidden_size));
  out.set("llama.block_count", GgufValue::make_u32(c.num_layers));
  out.set("llama.feed_forward_length", GgufValue::make_u32(c.intermediate_size));
  out.set("llama.attention.head_count", GgufValue::make_u32(c.num_heads));
  out.set("llama.attention.head_count_kv", GgufValue::make_u32(c.num_kv_heads));
  out.set("llama.attention.key_length", GgufValue::make_u32(c.head_dim));
  out.set("llama.attention.value_length", GgufValue::make_u32(c.head_dim));
  out.set("llama.rope.freq_base", GgufValue::make_f32(c.rope_theta));
  out.set("llama.rope.dimension_count", GgufValue::make_u32(c.head_dim));
  out.set("llama.attention.layer_norm_rms_epsilon", GgufValue::make_f32(c.rms_norm_eps));
  out.set("llama.vocab_size", GgufValue::make_u32(c.vocab_size));
  if (c.rope_scaling.type == RopeScalingType::Linear) {
    out.set("llama.rope.scaling.type", GgufValue::make_string("linear"));
    out.set("llama.rope.scaling.factor", GgufValue::make_f32(c.rope_scaling.factor));
  }
  loaded.tokenizer.add_gguf_metadata(out);

  std::vector<Weight> kept;
  kept.reserve(4 + 9 * c.num_layers);
  for_each_weight(loaded.model.weights, c, [&](const std::string& name, const Weight& w) {
    Weight e = encoded(w, matrix_dtype(w, dtype));
    if (name.ends_with("attn_q.weight")) e = permute_qk_rows(e, c.num_heads);
    if (name.ends_with("attn_k.weight")) e = permute_qk_rows(e, c.num_kv_heads);
    kept.push_back(std::move(e));
    out.add_tensor(name, kept.back().dtype, file_shape(kept.back()), kept.back().data,
                   kept.back().rows * kept.back().row_bytes());
  });
  const std::vector<float> divisors = rope_frequency_divisors(loaded.model);
  if (c.rope_scaling.type != RopeScalingType::Linear && has_scaled_frequencies(divisors)) {
    out.add_tensor("rope_freqs.weight", DType::F32, {int64_t(divisors.size())}, divisors.data(),
                   divisors.size() * sizeof(float));
  }
  out.write(path);
}

}  // namespace whet
