#include "models/model_loader.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/cpu_features.h"
#include "core/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "kernels/rope.h"
#include "models/model_family.h"

namespace whet {

namespace {

// Row r of the result takes row source_row(r) of w.
Weight permute_rows(const Weight& w, int heads, bool to_hf) {
  const int64_t head_dim = w.rows / heads, half = head_dim / 2;
  Weight out = w;
  auto bytes = std::make_shared<std::vector<uint8_t>>(size_t(w.rows) * w.row_bytes());
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t j = 0; j < half; ++j) {
        const int64_t hf_row = h * head_dim + i * half + j, gguf_row = h * head_dim + 2 * j + i;
        const int64_t dst = to_hf ? hf_row : gguf_row, src = to_hf ? gguf_row : hf_row;
        std::memcpy(bytes->data() + dst * w.row_bytes(), w.row(src), w.row_bytes());
      }
    }
  }
  out.data = bytes->data();
  out.storage = std::move(bytes);
  return out;
}

// A vector (1, n) is a 1-D tensor of n values in the files.
bool has_shape(const TensorView& view, std::pair<int64_t, int64_t> shape) {
  const auto [rows, cols] = shape;
  return rows == 1 ? (view.shape.size() == 1 && view.shape[0] == cols)
                   : (view.shape.size() == 2 && view.shape[0] == rows && view.shape[1] == cols);
}

Weight weight_from_view(const TensorView& view, const std::string& where, std::pair<int64_t, int64_t> shape) {
  const auto [rows, cols] = shape;
  const bool is_vector = rows == 1;
  if (!has_shape(view, shape)) {
    std::string got;
    for (int64_t d : view.shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
    fail(where, "tensor '{}' has shape ({}), expected ({}{}{})", view.name, got, is_vector ? "" : std::to_string(rows),
         is_vector ? "" : ", ", cols);
  }
  return Weight{view.dtype, rows, cols, view.data, nullptr};
}

enum class FileNames { Gguf, Hf };

// Reads a model's tensors from one file's views: each as a Weight of Whet's
// shape (rows = out features), transposed when the family's files hold it [in, out].
template <typename Find>
class TensorSource {
 public:
  TensorSource(const LlamaConfig& c, FileNames names, const std::string& where, const Find& find)
      : c_(c), names_(names), where_(where), find_(find) {}

  // The weight's rows (or, of a fused bias, its elements) of a tensor its family's
  // files fuse (views of the same bytes), or nothing when the file holds the weight
  // on its own instead.
  std::optional<Weight> fused_part(const std::string& name) {
    const std::optional<FusedPlace> place = fused_place(name, c_);
    if (!place) return std::nullopt;
    const std::string& file_name = names_ == FileNames::Hf ? place->hf_name : place->gguf_name;
    const auto [rows, cols] = llama_tensor_shape(name, c_);
    const bool vector = rows == 1;
    const std::pair<int64_t, int64_t> whole_shape = vector ? std::pair<int64_t, int64_t>{1, place->total}
                                                           : std::pair<int64_t, int64_t>{place->total, cols};
    // A tensor of that name and another shape is the weight's own (Phi-3's ffn_up unfused).
    const std::optional<Weight> whole = find(file_name, name, whole_shape, /*other_shape_is_absent=*/true);
    if (!whole) return std::nullopt;
    const uint8_t* first = vector ? whole->data + dtype_bytes(whole->dtype, place->first) : whole->row(place->first);
    return Weight{whole->dtype, rows, cols, first, whole->storage};
  }

  // The tensor of Whet's name, from the file under its own name; a missing one is an error.
  Weight single(const std::string& name) {
    const std::string file_name = names_ == FileNames::Hf ? hf_tensor_name(name, c_) : name;
    std::optional<Weight> w = find(file_name, name, llama_tensor_shape(name, c_), /*other_shape_is_absent=*/false);
    if (w) return *w;
    if (const std::optional<FusedPlace> place = fused_place(name, c_))
      fail(where_, "missing tensor '{}' (or '{}' of {} {})", file_name,
           names_ == FileNames::Hf ? place->hf_name : place->gguf_name, place->total,
           llama_tensor_shape(name, c_).first == 1 ? "values" : "rows");
    fail(where_, "missing tensor '{}'", file_name);
  }

 private:
  // File tensor `file_name` standing for Whet's `name` with Whet's `shape`, or
  // nothing when absent; another shape is an error unless other_shape_is_absent.
  // One stored transposed (GPT-2's Conv1D) is copied once, however many weights it holds.
  std::optional<Weight> find(const std::string& file_name, const std::string& name,
                             std::pair<int64_t, int64_t> shape, bool other_shape_is_absent) {
    if (const auto done = transposed_.find(file_name); done != transposed_.end()) return done->second;
    const TensorView* view = find_(file_name);
    const bool flip = names_ == FileNames::Hf && hf_transposed(c_, name, shape.first);
    const std::pair<int64_t, int64_t> stored_shape = flip ? std::pair{shape.second, shape.first} : shape;
    if (!view || (other_shape_is_absent && !has_shape(*view, stored_shape))) return std::nullopt;
    const Weight stored = weight_from_view(*view, where_, stored_shape);
    if (!flip) return stored;
    return transposed_[file_name] = transposed(stored);
  }

  const LlamaConfig& c_;
  FileNames names_;
  const std::string& where_;
  const Find& find_;
  std::map<std::string, Weight> transposed_;
};

// Fills every weight of the model from the file's views; `find` maps a file's
// tensor name to its view or null.
template <typename Find>
void bind_weights(LlamaModel& model, const std::string& where, FileNames names, const Find& find) {
  const LlamaConfig& c = model.config;
  model.weights.layers.resize(c.num_layers);
  TensorSource<Find> source(c, names, where, find);
  for_each_weight(model.weights, c, [&](const std::string& name, Weight& w) {
    const std::optional<Weight> part = source.fused_part(name);
    w = part ? *part : source.single(name);
  });
  if (c.tie_word_embeddings) model.weights.lm_head = model.weights.embed;
}

void count_types(LoadedModel& loaded, const std::vector<TensorView>& tensors) {
  for (const TensorView& t : tensors) loaded.file_tensor_types[std::string(dtype_name(t.dtype))]++;
}

LlamaConfig config_from_gguf(const GgufFile& g) {
  const std::string arch = g.get_string("general.architecture");
  const ModelFamily* family = family_by_gguf_name(arch);
  if (!family)
    fail(g.path(), "unsupported architecture '{}' in general.architecture (supported: {})", arch,
         supported_gguf_architectures());
  auto key = [&](const char* suffix) { return arch + "." + suffix; };
  LlamaConfig c;
  c.family = family->name;
  c.hidden_size = int(g.get_int(key("embedding_length")));
  c.intermediate_size = int(g.get_int(key("feed_forward_length")));
  c.num_layers = int(g.get_int(key("block_count")));
  c.num_heads = int(g.get_int(key("attention.head_count")));
  c.num_kv_heads = int(g.get_int(key("attention.head_count_kv"), c.num_heads));
  if (c.num_heads <= 0 || c.hidden_size <= 0 || c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0)
    fail(g.path(), "inconsistent attention heads: {} heads, {} key/value heads", c.num_heads, c.num_kv_heads);
  c.head_dim = int(g.get_int(key("attention.key_length"), c.hidden_size / c.num_heads));
  c.max_position_embeddings = int(g.get_int(key("context_length"), 2048));
  c.rope_theta = float(g.get_float(key("rope.freq_base"), 10000.0));
  c.norm_eps = float(g.get_float(key("attention.layer_norm_rms_epsilon"), 1e-5));  // a LayerNorm family reads its own
  const std::string scaling = g.get_string(key("rope.scaling.type"), "none");
  if (scaling == "linear") {
    c.rope_scaling.type = RopeScalingType::Linear;
    c.rope_scaling.factor = float(g.get_float(key("rope.scaling.factor")));
  } else if (scaling != "none") {
    fail(g.path(), "unsupported {} '{}'", key("rope.scaling.type"), scaling);
  }
  const TensorView* embed = g.find_tensor("token_embd.weight");
  if (!embed || embed->shape.size() != 2) fail(g.path(), "missing 2-D tensor 'token_embd.weight'");
  c.vocab_size = int(embed->shape[0]);
  c.tie_word_embeddings = g.find_tensor("output.weight") == nullptr;
  c.bos_token_id = int(g.get_int("tokenizer.ggml.bos_token_id", -1));
  if (g.has("tokenizer.ggml.eos_token_id")) c.eos_token_ids.push_back(int(g.get_int("tokenizer.ggml.eos_token_id")));
  family->from_gguf(g, c);
  return c;
}

std::vector<float> rope_divisors_from_gguf(const GgufFile& g, const LlamaConfig& c) {
  const TensorView* view = g.find_tensor("rope_freqs.weight");
  if (!view) return {};
  if (view->dtype != DType::F32 || view->numel() != c.head_dim / 2)
    fail(g.path(), "tensor 'rope_freqs.weight' must be F32 with {} values", c.head_dim / 2);
  const float* p = reinterpret_cast<const float*>(view->data);
  return std::vector<float>(p, p + view->numel());
}

LoadedModel load_gguf(const std::string& path) {
  auto gguf = std::make_shared<GgufFile>(GgufFile::open(path));
  LoadedModel loaded{.model = {}, .tokenizer = Tokenizer::from_gguf(*gguf)};
  LlamaModel& model = loaded.model;
  model.config = config_from_gguf(*gguf);
  bind_weights(model, path, FileNames::Gguf, [&](const std::string& name) { return gguf->find_tensor(name); });
  if (family_of(model.config).gguf_qk_interleaved) {
    for (LlamaLayer& layer : model.weights.layers) {
      layer.q = unpermute_qk_rows(layer.q, model.config.num_heads);
      layer.k = unpermute_qk_rows(layer.k, model.config.num_kv_heads);
    }
  }
  set_rope_frequencies(model, rope_divisors_from_gguf(*gguf, model.config));
  model.file = gguf;
  loaded.file_format = "gguf";
  count_types(loaded, gguf->tensors);
  return loaded;
}

LoadedModel load_hf_dir(const std::string& dir) {
  auto weights = std::make_shared<SafetensorsFile>(SafetensorsFile::open_dir(dir));
  LoadedModel loaded{.model = {}, .tokenizer = Tokenizer::from_hf_dir(dir)};
  LlamaModel& model = loaded.model;
  model.config = read_hf_config(dir + "/config.json");
  // A checkpoint saved from the base model (GPT2Model, LlamaModel) has its tensors
  // without the base's prefix: transformer.h.0.ln_1.weight is h.0.ln_1.weight there.
  bind_weights(model, dir, FileNames::Hf, [&](const std::string& name) {
    const TensorView* view = weights->find_tensor(name);
    const size_t dot = name.find('.');
    return view || dot == std::string::npos ? view : weights->find_tensor(name.substr(dot + 1));
  });
  if (model.config.norm_weights_offset_by_one) offset_norm_weights(model.weights, model.config, 1.0f);
  set_rope_frequencies(model);
  model.file = weights;
  loaded.file_format = "hf";
  count_types(loaded, weights->tensors);
  return loaded;
}

// Norms are used as plain float arrays; matrices take the requested format.
void apply_weight_format(LlamaModel& model, WeightFormat format) {
  const bool tied = model.config.tie_word_embeddings;
  for_each_weight(model.weights, model.config, [&](const std::string& name, Weight& w) {
    DType target = w.dtype;
    if (w.rows == 1) target = DType::F32;
    else if (format == WeightFormat::F32) target = DType::F32;
    else if (format == WeightFormat::BF16) target = DType::BF16;
    if (target != w.dtype) w = convert_weight(w, target);
  });
  if (tied) model.weights.lm_head = model.weights.embed;
}

}  // namespace

WeightFormat fastest_weight_format() { return cpu_has_bf16_units() ? WeightFormat::BF16 : WeightFormat::F32; }

std::optional<WeightFormat> weight_format_from_name(std::string_view name) {
  if (name == "native") return WeightFormat::Native;
  if (name == "f32") return WeightFormat::F32;
  if (name == "bf16") return WeightFormat::BF16;
  if (name == "auto") return fastest_weight_format();
  return std::nullopt;
}

std::string_view weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::Native: return "native";
    case WeightFormat::F32: return "f32";
    case WeightFormat::BF16: return "bf16";
  }
  return "?";
}

Weight unpermute_qk_rows(const Weight& w, int heads) { return permute_rows(w, heads, /*to_hf=*/true); }
Weight permute_qk_rows(const Weight& w, int heads) { return permute_rows(w, heads, /*to_hf=*/false); }

std::string default_model_path() {
  if (const char* p = std::getenv("WHET_DEFAULT_MODEL")) return p;
  const char* cache = std::getenv("WHET_CACHE");
  const char* home = std::getenv("HOME");
  const std::string dir = cache ? cache : std::string(home ? home : ".") + "/.cache/whet";
  return dir + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

LoadedModel load_model(const std::string& path, WeightFormat format) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) fail(path, "no such file or directory");
  LoadedModel loaded = fs::is_directory(path) ? load_hf_dir(path) : load_gguf(path);
  loaded.path = path;
  apply_weight_format(loaded.model, format);
  const std::string& source = loaded.tokenizer.spec().chat_template;
  if (!source.empty()) {
    try {
      loaded.chat_template = ChatTemplate::detect(source);
    } catch (const Error&) {
      // An unknown template leaves the model usable for raw prompts; commands that
      // need a template say so, naming the known ones.
    }
  }
  return loaded;
}

}  // namespace whet
