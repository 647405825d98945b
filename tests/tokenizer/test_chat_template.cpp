// Chat templates: detection from Jinja source and rendering. Expected strings are written by hand
// from what each model family's official template outputs.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer_loading.h"

namespace whet {
namespace {

// The chat template of SmolLM2-135M-Instruct, as stored in its GGUF file.
constexpr std::string_view kSmolLM2Template =
    R"({% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %})";
constexpr std::string_view kSmolLM2System = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

const std::vector<ChatMessage> kSingle = {{"user", "Hi"}};
const std::vector<ChatMessage> kWithSystem = {{"system", "Be brief."}, {"user", "Hi"}};
const std::vector<ChatMessage> kMultiTurn = {
    {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "How are you?"}};

std::string render(std::string_view name, const std::vector<ChatMessage>& messages, bool add_generation_prompt = true) {
  return ChatTemplate::by_name(name).render(messages, add_generation_prompt);
}

TEST(ChatTemplate, DetectsSmolLM2AsChatMLWithItsDefaultSystemPrompt) {
  const ChatTemplate t = ChatTemplate::detect(kSmolLM2Template);
  EXPECT_EQ(t.format, ChatFormat::ChatML);
  EXPECT_EQ(t.name(), "chatml");
  EXPECT_EQ(t.default_system, kSmolLM2System);
  EXPECT_EQ(t.bos_text, "");
  EXPECT_EQ(t.end_of_turn(), "<|im_end|>");
}

TEST(ChatTemplate, RendersSmolLM2) {
  const ChatTemplate t = ChatTemplate::detect(kSmolLM2Template);
  EXPECT_EQ(t.render(kSingle, true),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(t.render(kWithSystem, false), "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
  EXPECT_EQ(t.render({}, true), "<|im_start|>assistant\n");
}

TEST(ChatTemplate, RendersChatMLMultiTurn) {
  EXPECT_EQ(render("chatml", kMultiTurn),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(render("chatml", kSingle, false), "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplate, DefaultSystemPromptIsParsedFromTheTemplateText) {
  // Double-quoted literal holding an apostrophe, a comment with one, and the prompt in a later literal.
  const std::string_view source =
      R"({# don't insert twice #}{%- if messages[0].role != "system" %}{{- "<|im_start|>system\n" }}{% endif %})"
      R"({{- "<|im_start|>system\nYou're a \"careful\" assistant.<|im_end|>\n" }}{{ '<|im_start|>' + m.role }})";
  EXPECT_EQ(ChatTemplate::detect(source).default_system, "You're a \"careful\" assistant.");
  // A header written with real newlines in raw template text.
  EXPECT_EQ(ChatTemplate::detect("<|im_start|>system\nBe kind.<|im_end|>\n{% for m in messages %}{% endfor %}")
                .default_system,
            "Be kind.");
  EXPECT_EQ(ChatTemplate::detect("{{ '<|im_start|>' + message['role'] + '\\n' }}").default_system, "");
  // Unterminated literals and tags end at the end of the source.
  EXPECT_EQ(ChatTemplate::detect("{{ '<|im_start|>system\\nCut").default_system, "Cut");
  EXPECT_EQ(ChatTemplate::detect("<|im_start|>{{ 'a").default_system, "");
}

TEST(ChatTemplate, RendersLlama3) {
  const ChatTemplate t = ChatTemplate::detect(
      R"({{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + m['content'] | trim + '<|eot_id|>' }}{% endfor %})");
  EXPECT_EQ(t.format, ChatFormat::Llama3);
  EXPECT_EQ(t.default_system, "");
  EXPECT_EQ(t.bos_text, "<|begin_of_text|>");
  EXPECT_EQ(t.end_of_turn(), "<|eot_id|>");
  EXPECT_EQ(t.render({{"user", "  Hi\n"}}, true),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(t.render(kMultiTurn, false),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>");
}

TEST(ChatTemplate, RendersLlama2) {
  const ChatTemplate t = ChatTemplate::detect(
      R"({% for m in messages %}{% if loop.index0 == 0 and system_message %}{% set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + m['content'] %}{% endif %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% endfor %})");
  EXPECT_EQ(t.format, ChatFormat::Llama2);
  EXPECT_EQ(t.bos_text, "<s>");
  EXPECT_EQ(t.end_of_turn(), "</s>");
  EXPECT_EQ(t.render(kSingle, true), "<s>[INST] Hi [/INST]");
  EXPECT_EQ(t.render(kWithSystem, true), "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]");
  // Each user turn opens with BOS; assistant turns are stripped and close with EOS.
  // As in Meta's template, strip() applies to the system block plus the first
  // user message, so that message keeps its own leading space.
  EXPECT_EQ(t.render({{"system", "Be brief."}, {"user", " Hi "}, {"assistant", " Hello! "}, {"user", "How are you?"}}, false),
            "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n Hi [/INST] Hello! </s><s>[INST] How are you? [/INST]");
}

TEST(ChatTemplate, RendersMistral) {
  const ChatTemplate t = ChatTemplate::detect(
      R"({{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ ' [INST] ' + m['content'] + ' [/INST]' }}{% else %}{{ ' ' + m['content'] + eos_token }}{% endif %}{% endfor %})");
  EXPECT_EQ(t.format, ChatFormat::Mistral);
  EXPECT_EQ(t.end_of_turn(), "</s>");
  EXPECT_EQ(t.render(kSingle, true), "<s> [INST] Hi [/INST]");
  EXPECT_EQ(t.render(kWithSystem, true), "<s> [INST] Be brief.\n\nHi [/INST]");
  EXPECT_EQ(t.render(kMultiTurn, true), "<s> [INST] Be brief.\n\nHi [/INST] Hello!</s> [INST] How are you? [/INST]");
}

// The templates of Mistral-7B-Instruct-v0.1 and Mixtral-8x7B-Instruct-v0.1 as they are written:
// BOS, then '[INST] ' + content + ' [/INST]' per user turn and content + EOS per answer (v0.1 adds
// + ' '), refusing any role order but user, assistant, user, ...
constexpr std::string_view kMistralInstructTemplate =
    R"({{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token + ' ' }}{% endif %}{% endfor %})";
constexpr std::string_view kMixtralInstructTemplate =
    R"({{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token}}{% endif %}{% endfor %})";

TEST(ChatTemplate, TellsTheMistralTemplatesApart) {
  EXPECT_EQ(ChatTemplate::detect(kMistralInstructTemplate).format, ChatFormat::MistralInstruct);
  EXPECT_EQ(ChatTemplate::detect(kMixtralInstructTemplate).format, ChatFormat::MixtralInstruct);
  EXPECT_EQ(ChatTemplate::by_name("mistral-instruct").name(), "mistral-instruct");
  EXPECT_EQ(ChatTemplate::by_name("mixtral-instruct").name(), "mixtral-instruct");
}

TEST(ChatTemplate, RendersMistralInstructV01) {
  const ChatTemplate t = ChatTemplate::detect(kMistralInstructTemplate);
  EXPECT_EQ(t.bos_text, "<s>");
  EXPECT_EQ(t.end_of_turn(), "</s>");
  // No space after BOS or before an answer, contents kept as given, a space after each answer's EOS;
  // the generation prompt adds nothing.
  const std::vector<ChatMessage> turns = {{"user", " Hi"}, {"assistant", "Hello! "}, {"user", "How are you?"}};
  EXPECT_EQ(t.render(turns, true), "<s>[INST]  Hi [/INST]Hello! </s> [INST] How are you? [/INST]");
  EXPECT_EQ(t.render(kSingle, false), "<s>[INST] Hi [/INST]");
  EXPECT_EQ(t.render({{"user", "Hi"}, {"assistant", "Hello!"}}, false), "<s>[INST] Hi [/INST]Hello!</s> ");
}

TEST(ChatTemplate, RendersMixtralInstruct) {
  const ChatTemplate t = ChatTemplate::detect(kMixtralInstructTemplate);
  EXPECT_EQ(t.render({{"user", "Hi"}, {"assistant", "Hello!"}, {"user", "How are you?"}}, true),
            "<s>[INST] Hi [/INST]Hello!</s>[INST] How are you? [/INST]");
  EXPECT_EQ(t.render({{"user", "Hi"}, {"assistant", "Hello!"}}, false), "<s>[INST] Hi [/INST]Hello!</s>");
}

TEST(ChatTemplate, MistralInstructTemplatesHaveNoSystemTurn) {
  for (std::string_view name : {"mistral-instruct", "mixtral-instruct"}) {
    SCOPED_TRACE(name);
    EXPECT_THROW(render(name, kWithSystem), Error);
    EXPECT_THROW(render(name, {{"system", ""}, {"user", "Hi"}}), Error);
  }
}

TEST(ChatTemplate, RendersGemma) {
  const ChatTemplate t = ChatTemplate::detect(
      R"({{ bos_token }}{% for m in messages %}{{ '<start_of_turn>' + role + '\n' + m['content'] | trim + '<end_of_turn>\n' }}{% endfor %})");
  EXPECT_EQ(t.format, ChatFormat::Gemma);
  EXPECT_EQ(t.bos_text, "<bos>");
  EXPECT_EQ(t.end_of_turn(), "<end_of_turn>");
  EXPECT_EQ(t.render(kSingle, true), "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(t.render(kMultiTurn, true),
            "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
            "<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(t.render(kSingle, false), "<bos><start_of_turn>user\nHi<end_of_turn>\n");
}

// Phi-3-mini-4k-instruct's template in its shape: a turn per system, user or assistant message,
// then the generation prompt or, without it, the EOS token.
constexpr std::string_view kPhi3Template =
    R"({% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %})";

TEST(ChatTemplate, RendersPhi3) {
  const ChatTemplate t = ChatTemplate::detect(kPhi3Template);
  EXPECT_EQ(t.format, ChatFormat::Phi3);
  EXPECT_EQ(t.name(), "phi3");
  EXPECT_EQ(t.bos_text, "");
  EXPECT_EQ(t.default_system, "");
  EXPECT_EQ(t.end_of_turn(), "<|end|>");
  EXPECT_EQ(t.render(kMultiTurn, true),
            "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n"
            "<|user|>\nHow are you?<|end|>\n<|assistant|>\n");
  // Contents as given, no role order imposed; without the generation prompt the EOS token closes it.
  EXPECT_EQ(t.render({{"user", " a "}, {"user", "b"}}, false), "<|user|>\n a <|end|>\n<|user|>\nb<|end|>\n<|endoftext|>");
  EXPECT_EQ(t.render({}, true), "<|assistant|>\n");
  // A role the template has no turn for is refused, not dropped.
  EXPECT_THROW(t.render({{"tool", "42"}}, true), Error);
}

// A format whose turns end with a token of their own (not EOS) has that token found in a vocabulary
// as its end of turn, which ends generation even when the model file names no EOT token.
TEST(ChatTemplate, EveryEndOfTurnTokenIsFoundInAVocabulary) {
  for (const std::string& name : ChatTemplate::known_names()) {
    const std::string end_of_turn = ChatTemplate::by_name(name).end_of_turn();
    if (end_of_turn == "</s>") continue;  // EOS itself
    EXPECT_EQ(find_end_of_turn({"<s>", "</s>", end_of_turn, "a"}), 2) << name;
  }
}

TEST(ChatTemplate, RendersAlpaca) {
  EXPECT_EQ(render("alpaca", kSingle),
            "Below is an instruction that describes a task. Write a response that appropriately completes the "
            "request.\n\n### Instruction:\nHi\n\n### Response:\n");
  EXPECT_EQ(render("alpaca", kMultiTurn),
            "Be brief.\n\n### Instruction:\nHi\n\n### Response:\nHello!</s>\n\n### Instruction:\nHow are you?\n\n"
            "### Response:\n");
  // A template without the standard preamble has no default system prompt.
  const ChatTemplate t = ChatTemplate::detect(R"({% for m in messages %}{{ '### Instruction:\n' + m.content }}{% endfor %})");
  EXPECT_EQ(t.format, ChatFormat::Alpaca);
  EXPECT_EQ(t.render(kSingle, true), "### Instruction:\nHi\n\n### Response:\n");
  EXPECT_EQ(t.end_of_turn(), "</s>");
}

TEST(ChatTemplate, FoldedFormatsNeedAlternatingRoles) {
  for (std::string_view name : {"llama2", "mistral-instruct", "mixtral-instruct", "mistral", "gemma", "alpaca"}) {
    SCOPED_TRACE(name);
    EXPECT_THROW(render(name, {{"user", "a"}, {"user", "b"}}), Error);
    EXPECT_THROW(render(name, {{"assistant", "a"}}), Error);
    EXPECT_THROW(render(name, {{"user", "a"}, {"system", "b"}}), Error);
  }
}

TEST(ChatTemplate, UnknownTemplatesListTheKnownNames) {
  const std::vector<std::string> names = ChatTemplate::known_names();
  EXPECT_EQ(names, (std::vector<std::string>{"chatml", "llama3", "llama2", "mistral-instruct", "mixtral-instruct",
                                             "mistral", "gemma", "phi3", "alpaca"}));
  for (const std::string& name : names) EXPECT_EQ(ChatTemplate::by_name(name).name(), name);
  for (auto action : {+[] { ChatTemplate::detect("{% for m in messages %}{{ m.content }}{% endfor %}"); },
                      +[] { ChatTemplate::by_name("vicuna"); }}) {
    try {
      action();
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      for (const std::string& name : names) EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace whet
