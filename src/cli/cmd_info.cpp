// whet info: what a model is and what it will cost to run and to train.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "cli/commands.h"
#include "cli/options.h"
#include "models/memory_estimate.h"
#include "models/model_family.h"

namespace whet::cli {

namespace {

std::string human_bytes(int64_t bytes) {
  const double b = double(bytes);
  if (b >= 1024.0 * 1024 * 1024) return fmt::format("{:.2f} GiB", b / (1024.0 * 1024 * 1024));
  return fmt::format("{:.0f} MiB", b / (1024.0 * 1024));
}

std::string token_label(const Tokenizer& tok, int id) {
  if (id < 0 || id >= tok.vocab_size()) return "none";
  return fmt::format("{} ({})", tok.token_bytes(id), id);
}

std::string rope_description(const LlamaConfig& c) {
  if (c.learned_positions) return "none: learned position embeddings";
  switch (c.rope_scaling.type) {
    case RopeScalingType::None: return fmt::format("theta {}", c.rope_theta);
    case RopeScalingType::Linear: return fmt::format("theta {}, linear scaling x{}", c.rope_theta, c.rope_scaling.factor);
    case RopeScalingType::Llama3:
      return fmt::format("theta {}, llama3 scaling x{} (original context {})", c.rope_theta, c.rope_scaling.factor,
                         c.rope_scaling.original_max_position_embeddings);
    case RopeScalingType::LongRope:
      return fmt::format("theta {}, longrope with its {} factors (original context {}), attention factor {:.4g}",
                         c.rope_theta, uses_long_rope_factors(c) ? "long" : "short",
                         c.rope_scaling.original_max_position_embeddings, c.rope_scaling.attention_factor);
  }
  return "";
}

// What the family changes in the block, e.g. "q/k/v biases" or "GeGLU, norms after
// attention and MLP, q/k norms, embeddings x25.3, sliding window 512 in 15 of 18 layers".
std::string block_description(const LlamaConfig& c) {
  std::vector<std::string> parts;
  const char* act = c.activation == GateActivation::Silu ? "SiLU" : "tanh GELU";
  if (c.gated_mlp) parts.push_back(c.activation == GateActivation::Silu ? "SwiGLU" : "GeGLU (tanh GELU)");
  else parts.push_back(fmt::format("ungated MLP ({})", act));
  parts.push_back(c.norm == NormKind::Layer ? "LayerNorm with biases" : "RMSNorm");
  if (c.learned_positions) parts.push_back("learned positions");
  for (const FusedTensor& f : family_of(c).fused_tensors) parts.push_back(fmt::format("fused {}", f.hf_part));
  if (c.attention_bias) parts.push_back("q/k/v biases");
  if (c.projection_bias) parts.push_back("o/up/down biases");
  if (c.sandwich_norms) parts.push_back("norms after attention and MLP");
  if (c.qk_norm) parts.push_back("q/k norms");
  if (c.embedding_scale != 1.0f) parts.push_back(fmt::format("embeddings x{:.4g}", c.embedding_scale));
  if (c.query_scale > 0) parts.push_back(fmt::format("query scale {:.4g}", c.query_scale));
  if (c.sliding_window > 0) {
    int sliding = 0;
    for (int layer = 0; layer < c.num_layers; ++layer) sliding += c.layer_is_sliding(layer);
    parts.push_back(fmt::format("sliding window {} in {} of {} layers", c.sliding_window, sliding, c.num_layers));
    if (c.rope_local_theta > 0) parts.push_back(fmt::format("their rope theta {}", c.rope_local_theta));
  }
  if (c.attn_logit_softcap > 0) parts.push_back(fmt::format("attention scores softcapped at {}", c.attn_logit_softcap));
  if (c.final_logit_softcap > 0) parts.push_back(fmt::format("logits softcapped at {}", c.final_logit_softcap));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// The model files scripts/fetch_model.sh put in the cache, with their sizes.
std::string cached_models() {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(default_model_path()).parent_path();
  std::vector<std::string> found;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".gguf")
      found.push_back(fmt::format("{} ({})", e.path().filename().string(), human_bytes(int64_t(e.file_size()))));
  std::sort(found.begin(), found.end());
  if (found.empty()) return fmt::format("none in {}", dir.string());
  return fmt::format("{}: {}", dir.string(), fmt::join(found, ", "));
}

void print_estimate(const char* what, const MemoryEstimate& e) {
  fmt::print("  {:<34} {:>10}  (weights {}, grads+optimizer {}, activations {})\n", what, human_bytes(e.total()),
             human_bytes(e.weights_bytes), human_bytes(e.trainable_state_bytes), human_bytes(e.activation_bytes));
}

void run_info(const ModelOptions& options, int64_t seq_len) {
  const LoadedModel loaded = options.load();
  const LlamaConfig& c = loaded.model.config;
  const Tokenizer& tok = loaded.tokenizer;
  std::string types;
  for (const auto& [name, count] : loaded.file_tensor_types) types += fmt::format("{}{} x{}", types.empty() ? "" : ", ", name, count);

  fmt::print("model            {}\n", loaded.path);
  fmt::print("format           {}\n", loaded.file_format);
  fmt::print("architecture     {} ({} layers, hidden {}, intermediate {}, heads {}/{} kv, head dim {})\n", c.family,
             c.num_layers, c.hidden_size, c.intermediate_size, c.num_heads, c.num_kv_heads, c.head_dim);
  fmt::print("block            {}\n", block_description(c));
  fmt::print("parameters       {} ({:.1f} M)\n", llama_parameter_count(c), llama_parameter_count(c) / 1e6);
  fmt::print("tensor types     {}\n", types);
  fmt::print("context length   {}\n", c.max_position_embeddings);
  fmt::print("rope             {}\n", rope_description(c));
  fmt::print("embeddings       {}\n", c.tie_word_embeddings ? "tied with the LM head" : "separate LM head");
  if (tok.spec().model == TokenizerModel::ByteLevelBpe)
    fmt::print("tokenizer        byte-level BPE, {} tokens, pre-tokenizer '{}'\n", tok.vocab_size(), tok.spec().pre);
  else
    fmt::print("tokenizer        SentencePiece BPE with byte fallback, {} tokens\n", tok.vocab_size());
  fmt::print("special tokens   bos {}, eos {}, end of turn {}, pad {}\n", token_label(tok, tok.spec().bos_id),
             token_label(tok, tok.spec().eos_id), token_label(tok, tok.spec().eot_id), token_label(tok, tok.spec().pad_id));
  fmt::print("chat template    {}\n", loaded.chat_template ? loaded.chat_template->name()
                                      : tok.spec().chat_template.empty() ? "none" : "unrecognised");
  fmt::print("memory estimates (sequence length {}, batch 1):\n", seq_len);
  const int64_t context = usable_context(c);
  print_estimate(fmt::format("inference, bf16, {} ctx", context).c_str(), estimate_inference(c, 2.0, context));
  print_estimate(fmt::format("inference, f32, {} ctx", context).c_str(), estimate_inference(c, 4.0, context));
  print_estimate("LoRA r=16 all-linear, bf16 base", estimate_lora_training(c, 2.0, 16, seq_len));
  print_estimate("full fine-tuning, fp32 AdamW", estimate_full_training(c, seq_len));
  fmt::print("cached models    {}\n", cached_models());
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto* command = app.add_subcommand("info", "Describe a model: architecture, parameters, tokenizer, memory needs");
  auto options = std::make_shared<ModelOptions>();
  auto seq_len = std::make_shared<int64_t>(512);
  options->add_to(*command);
  command->add_option("--seq", *seq_len, "Sequence length for the training estimates")->capture_default_str();
  command->callback([options, seq_len] { run_info(*options, *seq_len); });
}

}  // namespace whet::cli
