// whet generate: one answer to one prompt; whet chat: a conversation.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "generate/prompt.h"

namespace whet::cli {

namespace {

struct PromptOptions {
  std::string system;
  std::string template_name;  // overrides the detected template
  bool raw = false;
};

void add_prompt_options(CLI::App& command, PromptOptions& p) {
  command.add_option("--system", p.system, "System message (default: the template's own, if any)");
  command.add_option("--template", p.template_name, "Chat template to use instead of the model's")
      ->check(CLI::IsMember(ChatTemplate::known_names()));
}

void apply_template_override(LoadedModel& model, const PromptOptions& p) {
  if (!p.template_name.empty()) model.chat_template = ChatTemplate::by_name(p.template_name);
}

void stream_to_stdout(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void print_stats(const GenerationResult& r) {
  const int fresh = r.prompt_tokens - r.reused_prompt_tokens;
  std::fprintf(stderr, "[%d prompt tokens (%d cached), %.1f tokens/s prefill; %zu tokens, %.1f tokens/s decode; %s]\n",
               r.prompt_tokens, r.reused_prompt_tokens, r.prefill_seconds > 0 ? fresh / r.prefill_seconds : 0.0,
               r.tokens.size(), r.decode_seconds > 0 ? r.tokens.size() / r.decode_seconds : 0.0,
               r.finish_reason.c_str());
}

std::vector<ChatMessage> with_system(const PromptOptions& p, std::vector<ChatMessage> messages) {
  if (!p.system.empty()) messages.insert(messages.begin(), ChatMessage{"system", p.system});
  return messages;
}

void run_generate(const ModelOptions& m, const SamplingOptions& s, const PromptOptions& p, const std::string& prompt) {
  LoadedModel model = m.load();
  apply_template_override(model, p);
  const std::vector<int32_t> tokens =
      p.raw ? model.tokenizer.encode(prompt) : chat_prompt_tokens(model, with_system(p, {{"user", prompt}}));
  // A model with learned positions (GPT-2) has none past its last: generation stops there.
  const LlamaConfig& c = model.model.config;
  const int64_t wanted = int64_t(tokens.size()) + s.generation.max_tokens;
  Session session(model.model, c.learned_positions ? std::min<int64_t>(wanted, c.max_position_embeddings) : wanted,
                  s.kv_cache_dtype);
  const GenerationResult result = generate(model, session, tokens, s.generation, stream_to_stdout);
  std::fputc('\n', stdout);
  print_stats(result);
}

void run_chat(const ModelOptions& m, const SamplingOptions& s, const PromptOptions& p) {
  LoadedModel model = m.load();
  apply_template_override(model, p);
  Session session(model.model, 0, s.kv_cache_dtype);
  std::vector<ChatMessage> history = with_system(p, {});
  const bool interactive = ::isatty(STDIN_FILENO);
  if (interactive) std::fprintf(stderr, "Chatting with %s. Empty line or Ctrl-D ends.\n", model.path.c_str());
  std::string line;
  while (true) {
    if (interactive) std::fputs("> ", stderr);
    if (!std::getline(std::cin, line) || line.empty()) break;
    history.push_back({"user", line});
    const std::vector<int32_t> tokens = chat_prompt_tokens(model, history);
    if (int64_t(tokens.size()) + s.generation.max_tokens > session.cache.capacity)
      fail("chat", "the conversation ({} tokens) no longer fits the context of {}", tokens.size(), session.cache.capacity);
    const GenerationResult result = generate(model, session, tokens, s.generation, stream_to_stdout);
    std::fputc('\n', stdout);
    print_stats(result);
    history.push_back({"assistant", result.text});
  }
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto* command = app.add_subcommand("generate", "Answer one prompt (through the chat template unless --raw)");
  auto m = std::make_shared<ModelOptions>();
  auto s = std::make_shared<SamplingOptions>();
  auto p = std::make_shared<PromptOptions>();
  auto prompt = std::make_shared<std::string>();
  m->add_to(*command);
  s->add_to(*command);
  add_prompt_options(*command, *p);
  command->add_option("--prompt,-p", *prompt, "The prompt")->required();
  command->add_flag("--raw", p->raw, "Send the prompt as plain text, without the chat template");
  command->callback([=] { run_generate(*m, *s, *p, *prompt); });
}

void add_chat_command(CLI::App& app) {
  auto* command = app.add_subcommand("chat", "Interactive chat that keeps the conversation; tokens stream as made");
  auto m = std::make_shared<ModelOptions>();
  auto s = std::make_shared<SamplingOptions>();
  auto p = std::make_shared<PromptOptions>();
  m->add_to(*command);
  s->add_to(*command);
  add_prompt_options(*command, *p);
  command->callback([=] { run_chat(*m, *s, *p); });
}

}  // namespace whet::cli
