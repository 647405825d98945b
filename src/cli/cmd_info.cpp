// whet info: what a model is and what it will cost to run and to train.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "models/memory_estimate.h"

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
  switch (c.rope_scaling.type) {
    case RopeScalingType::None: return fmt::format("theta {}", c.rope_theta);
    case RopeScalingType::Linear: return fmt::format("theta {}, linear scaling x{}", c.rope_theta, c.rope_scaling.factor);
    case RopeScalingType::Llama3:
      return fmt::format("theta {}, llama3 scaling x{} (original context {})", c.rope_theta, c.rope_scaling.factor,
                         c.rope_scaling.original_max_position_embeddings);
  }
  return "";
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
  fmt::print("parameters       {} ({:.1f} M)\n", llama_parameter_count(c), llama_parameter_count(c) / 1e6);
  fmt::print("tensor types     {}\n", types);
  fmt::print("context length   {}\n", c.max_position_embeddings);
  fmt::print("rope             {}\n", rope_description(c));
  fmt::print("embeddings       {}\n", c.tie_word_embeddings ? "tied with the LM head" : "separate LM head");
  fmt::print("tokenizer        byte-level BPE, {} tokens, pre-tokenizer '{}'\n", tok.vocab_size(), tok.spec().pre);
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
