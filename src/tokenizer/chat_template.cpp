#include "tokenizer/chat_template.h"

#include <fmt/ranges.h>

#include <array>
#include <optional>
#include <span>

#include "core/error.h"

namespace whet {

namespace {

constexpr std::string_view kWhere = "chat template";
constexpr std::string_view kAlpacaPreamble =
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.";

struct FormatSpec {
  ChatFormat format;
  std::string_view name;
  // Text only this format's Jinja source contains: every non-empty one must be present.
  std::array<std::string_view, 2> markers;
  std::string_view system_header;  // opens the system turn; a default prompt may follow it in the template
  std::string_view system_end;     // closes the system prompt
  std::string_view standard_system;  // system prompt that is part of the format itself
  std::string_view bos;
  std::string_view end_of_turn;
  std::string_view conversation_end = "";  // closes a conversation rendered without a generation prompt
};

// In detection order, the more specific first. Llama 2 and the Mistral variants all use [INST];
// only Llama 2 has <<SYS>>. Mistral-7B-Instruct-v0.1's and Mixtral-8x7B-Instruct-v0.1's templates
// write '[INST] ' and ' [/INST]' as quoted literals and differ only in the space v0.1 writes after
// an answer's EOS; any other [INST] template gets the format Mistral documents for its v1 tokenizer.
constexpr FormatSpec kFormats[] = {
    {ChatFormat::ChatML, "chatml", {"<|im_start|>"}, "<|im_start|>system\n", "<|im_end|>", "", "", "<|im_end|>"},
    {ChatFormat::Llama3, "llama3", {"<|start_header_id|>"}, "<|start_header_id|>system<|end_header_id|>\n\n",
     "<|eot_id|>", "", "<|begin_of_text|>", "<|eot_id|>"},
    {ChatFormat::Llama2, "llama2", {"<<SYS>>"}, "<<SYS>>\n", "\n<</SYS>>", "", "<s>", "</s>"},
    {ChatFormat::MistralInstruct, "mistral-instruct", {"'[INST] '", "eos_token + ' '"}, "", "", "", "<s>", "</s>"},
    {ChatFormat::MixtralInstruct, "mixtral-instruct", {"'[INST] '", "' [/INST]'"}, "", "", "", "<s>", "</s>"},
    {ChatFormat::Mistral, "mistral", {"[INST]"}, "", "", "", "<s>", "</s>"},
    {ChatFormat::Gemma, "gemma", {"<start_of_turn>"}, "", "", "", "<bos>", "<end_of_turn>"},
    // Phi-3's template closes a conversation without a generation prompt with its EOS token.
    {ChatFormat::Phi3, "phi3", {"<|assistant|>", "<|end|>"}, "<|system|>\n", "<|end|>", "", "", "<|end|>",
     "<|endoftext|>"},
    {ChatFormat::Alpaca, "alpaca", {"### Instruction"}, "", "", kAlpacaPreamble, "", "</s>"},
};

bool has_markers(std::string_view source, const FormatSpec& spec) {
  for (std::string_view marker : spec.markers)
    if (!marker.empty() && source.find(marker) == std::string_view::npos) return false;
  return true;
}

const FormatSpec& spec_of(ChatFormat format) {
  for (const FormatSpec& spec : kFormats)
    if (spec.format == format) return spec;
  WHET_ASSERT(false && "chat format without a spec");
}

ChatTemplate from_spec(const FormatSpec& spec) {
  return ChatTemplate{spec.format, std::string(spec.standard_system), std::string(spec.bos)};
}

// --- reading Jinja source

char unescaped(char c) {
  switch (c) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    default: return c;  // \\, \', \"
  }
}

// Reads the string literal whose opening quote is at s[pos]; leaves pos past the closing quote.
std::string read_literal(std::string_view s, size_t& pos) {
  const char quote = s[pos++];
  std::string text;
  while (pos < s.size() && s[pos] != quote) {
    char c = s[pos++];
    if (c == '\\' && pos < s.size()) c = unescaped(s[pos++]);
    text += c;
  }
  if (pos < s.size()) ++pos;
  return text;
}

size_t find_tag(std::string_view s, size_t from) {
  for (size_t p = s.find('{', from); p != std::string_view::npos; p = s.find('{', p + 1))
    if (p + 1 < s.size() && (s[p + 1] == '{' || s[p + 1] == '%' || s[p + 1] == '#')) return p;
  return std::string_view::npos;
}

// The text a Jinja template can output: raw text between tags and the string literals inside
// {{ }} and {% %} tags, with escapes resolved. Comments are skipped.
std::vector<std::string> output_texts(std::string_view s) {
  std::vector<std::string> texts;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t tag = find_tag(s, pos);
    texts.emplace_back(s.substr(pos, tag == std::string_view::npos ? std::string_view::npos : tag - pos));
    if (tag == std::string_view::npos) break;
    const char kind = s[tag + 1];
    const std::string_view close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
    pos = tag + 2;
    while (pos < s.size() && !s.substr(pos).starts_with(close)) {
      if (kind != '#' && (s[pos] == '\'' || s[pos] == '"'))
        texts.push_back(read_literal(s, pos));
      else
        ++pos;
    }
    pos = std::min(pos + close.size(), s.size());
  }
  return texts;
}

// The system prompt a template inserts when the conversation has none: the text that follows the
// format's system header inside one piece of template output, e.g. SmolLM2's
// '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, ...<|im_end|>\n'.
std::string template_default_system(std::string_view source, const FormatSpec& spec) {
  if (!spec.standard_system.empty())
    return source.find(spec.standard_system) != std::string_view::npos ? std::string(spec.standard_system) : "";
  if (spec.system_header.empty()) return "";
  for (const std::string& text : output_texts(source)) {
    const size_t header = text.find(spec.system_header);
    if (header == std::string::npos) continue;
    const size_t start = header + spec.system_header.size();
    std::string prompt = text.substr(start, text.find(spec.system_end, start) - start);
    if (!prompt.empty()) return prompt;
  }
  return "";
}

// --- rendering

std::string trimmed(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return "";
  return std::string(s.substr(first, s.find_last_not_of(kSpace) - first + 1));
}

std::vector<ChatMessage> with_default_system(const std::vector<ChatMessage>& messages, const std::string& system) {
  if (system.empty() || messages.empty() || messages.front().role == "system") return messages;
  std::vector<ChatMessage> all{{"system", system}};
  all.insert(all.end(), messages.begin(), messages.end());
  return all;
}

// Formats without a system turn of their own: the system prompt is folded into the text, and the
// turns after it must alternate user, assistant, ... as the official templates demand.
struct Folded {
  std::optional<std::string> system;
  std::span<const ChatMessage> turns;
};

Folded fold_system(std::string_view format, std::span<const ChatMessage> messages) {
  Folded f{std::nullopt, messages};
  if (!messages.empty() && messages.front().role == "system") {
    f.system = messages.front().content;
    f.turns = messages.subspan(1);
  }
  for (size_t i = 0; i < f.turns.size(); ++i) {
    const std::string_view expected = i % 2 == 0 ? "user" : "assistant";
    if (f.turns[i].role != expected)
      fail(kWhere, "{}: after an optional first system message, roles must alternate user/assistant; turn {} is '{}'",
           format, i + 1, f.turns[i].role);
  }
  return f;
}

bool is_user_turn(size_t i) { return i % 2 == 0; }

// System prompt followed by `separator`, for the first turn only.
std::string system_prefix(const Folded& f, size_t i, std::string_view separator) {
  return i == 0 && f.system ? *f.system + std::string(separator) : "";
}

std::string render_chatml(std::span<const ChatMessage> messages, bool add_generation_prompt) {
  std::string out;
  for (const ChatMessage& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

std::string llama3_header(std::string_view role) { return fmt::format("<|start_header_id|>{}<|end_header_id|>\n\n", role); }

std::string render_llama3(std::span<const ChatMessage> messages, std::string_view bos, bool add_generation_prompt) {
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i)
    out += (i == 0 ? std::string(bos) : "") + llama3_header(messages[i].role) + trimmed(messages[i].content) + "<|eot_id|>";
  if (add_generation_prompt) out += llama3_header("assistant");
  return out;
}

// Every user turn starts with BOS; the system prompt sits in <<SYS>> inside the first one.
std::string render_llama2(const Folded& f, std::string_view bos, std::string_view eos) {
  std::string out;
  for (size_t i = 0; i < f.turns.size(); ++i) {
    std::string content = f.turns[i].content;
    if (i == 0 && f.system) content = fmt::format("<<SYS>>\n{}\n<</SYS>>\n\n{}", *f.system, content);
    content = trimmed(content);
    out += is_user_turn(i) ? fmt::format("{}[INST] {} [/INST]", bos, content) : fmt::format(" {} {}", content, eos);
  }
  return out;
}

// The v1 layout of Mistral's tokenization guide (llama.cpp's mistral-v1), for [INST] templates that are
// neither Llama 2 nor one of the two Mistral instruct templates below: the system prompt opens the first turn.
std::string render_mistral(const Folded& f, std::string_view bos, std::string_view eos) {
  std::string out(bos);
  for (size_t i = 0; i < f.turns.size(); ++i) {
    const std::string& content = f.turns[i].content;
    out += is_user_turn(i) ? fmt::format(" [INST] {}{} [/INST]", system_prefix(f, i, "\n\n"), content)
                           : fmt::format(" {}{}", content, eos);
  }
  return out;
}

// Mistral-7B-Instruct-v0.1 and Mixtral-8x7B-Instruct-v0.1: no system turn at all, contents as given,
// and v0.1 writes a space after each answer's EOS (`after_answer`).
std::string render_mistral_instruct(std::string_view format, std::span<const ChatMessage> messages, std::string_view bos,
                                    std::string_view eos, std::string_view after_answer) {
  const Folded f = fold_system(format, messages);
  if (f.system) fail(kWhere, "{}: the template has no system turn; put the instructions in the first user message", format);
  std::string out(bos);
  for (size_t i = 0; i < f.turns.size(); ++i)
    out += is_user_turn(i) ? fmt::format("[INST] {} [/INST]", f.turns[i].content)
                           : fmt::format("{}{}{}", f.turns[i].content, eos, after_answer);
  return out;
}

std::string render_gemma(const Folded& f, std::string_view bos, bool add_generation_prompt) {
  std::string out(bos);
  for (size_t i = 0; i < f.turns.size(); ++i)
    out += fmt::format("<start_of_turn>{}\n{}{}<end_of_turn>\n", is_user_turn(i) ? "user" : "model",
                       system_prefix(f, i, "\n\n"), trimmed(f.turns[i].content));
  if (add_generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

// Phi-3: a turn per message in any order, contents as given.
std::string render_phi3(std::span<const ChatMessage> messages, std::string_view end_of_turn,
                        std::string_view conversation_end, bool add_generation_prompt) {
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    // Phi-3's template drops a message of another role without a word; Whet says so instead.
    if (role != "system" && role != "user" && role != "assistant")
      fail(kWhere, "phi3: message {} has role '{}'; the template has turns for system, user and assistant only", i + 1,
           role);
    out += fmt::format("<|{}|>\n{}{}\n", role, messages[i].content, end_of_turn);
  }
  out += add_generation_prompt ? "<|assistant|>\n" : conversation_end;
  return out;
}

std::string render_alpaca(const Folded& f, std::string_view eos, bool add_generation_prompt) {
  std::string out = f.system ? *f.system + "\n\n" : "";
  for (size_t i = 0; i < f.turns.size(); ++i)
    out += is_user_turn(i) ? fmt::format("### Instruction:\n{}\n\n", f.turns[i].content)
                           : fmt::format("### Response:\n{}{}\n\n", f.turns[i].content, eos);
  if (add_generation_prompt) out += "### Response:\n";
  return out;
}

}  // namespace

ChatTemplate ChatTemplate::detect(std::string_view jinja_source) {
  for (const FormatSpec& spec : kFormats) {
    if (!has_markers(jinja_source, spec)) continue;
    ChatTemplate t = from_spec(spec);
    t.default_system = template_default_system(jinja_source, spec);
    return t;
  }
  fail(kWhere, "unrecognised chat template (known: {})", fmt::join(known_names(), ", "));
}

ChatTemplate ChatTemplate::by_name(std::string_view name) {
  for (const FormatSpec& spec : kFormats)
    if (spec.name == name) return from_spec(spec);
  fail(kWhere, "unknown chat template '{}' (known: {})", name, fmt::join(known_names(), ", "));
}

std::vector<std::string> ChatTemplate::known_names() {
  std::vector<std::string> names;
  for (const FormatSpec& spec : kFormats) names.emplace_back(spec.name);
  return names;
}

std::string ChatTemplate::name() const { return std::string(spec_of(format).name); }

std::string ChatTemplate::end_of_turn() const { return std::string(spec_of(format).end_of_turn); }

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  const std::vector<ChatMessage> all = with_default_system(messages, default_system);
  const std::string eos = end_of_turn();
  switch (format) {
    case ChatFormat::ChatML: return render_chatml(all, add_generation_prompt);
    case ChatFormat::Llama3: return render_llama3(all, bos_text, add_generation_prompt);
    case ChatFormat::Llama2: return render_llama2(fold_system(name(), all), bos_text, eos);
    case ChatFormat::Mistral: return render_mistral(fold_system(name(), all), bos_text, eos);
    case ChatFormat::MistralInstruct: return render_mistral_instruct(name(), all, bos_text, eos, " ");
    case ChatFormat::MixtralInstruct: return render_mistral_instruct(name(), all, bos_text, eos, "");
    case ChatFormat::Phi3: return render_phi3(all, eos, spec_of(format).conversation_end, add_generation_prompt);
    case ChatFormat::Gemma: return render_gemma(fold_system(name(), all), bos_text, add_generation_prompt);
    case ChatFormat::Alpaca: return render_alpaca(fold_system(name(), all), eos, add_generation_prompt);
  }
  WHET_ASSERT(false && "unknown chat format");
}

}  // namespace whet
