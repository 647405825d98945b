#pragma once
// Chat templates: the model's own conversation format, detected from the Jinja
// source that ships with the model (tokenizer_config.json / GGUF
// tokenizer.chat_template) and rendered natively, without a Jinja engine.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace whet {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

// Mistral is the format Mistral documents for its v1 tokenizer; MistralInstruct and MixtralInstruct are
// the templates Mistral-7B-Instruct-v0.1 and Mixtral-8x7B-Instruct-v0.1 ship (chat_template.cpp).
enum class ChatFormat { ChatML, Llama3, Llama2, MistralInstruct, MixtralInstruct, Mistral, Gemma, Phi3, Alpaca };

struct ChatTemplate {
  ChatFormat format = ChatFormat::ChatML;
  std::string default_system;  // system prompt the template inserts when none is given ("" if none)
  std::string bos_text;        // BOS literal the template emits at the start, e.g. "<|begin_of_text|>"

  // Detects the format from Jinja source. Throws whet::Error listing the known
  // template names when nothing matches.
  static ChatTemplate detect(std::string_view jinja_source);
  // By name: "chatml", "llama3", "llama2", "mistral-instruct", "mixtral-instruct", "mistral", "gemma",
  // "phi3", "alpaca".
  static ChatTemplate by_name(std::string_view name);
  static std::vector<std::string> known_names();
  std::string name() const;

  // Renders the conversation; with add_generation_prompt the text ends where
  // the assistant's reply begins.
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
  // The text that ends an assistant turn ("<|im_end|>", "<|eot_id|>", "</s>", "<|end|>", ...).
  std::string end_of_turn() const;
};

}  // namespace whet
