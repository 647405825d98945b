#include "prepare/token_counter.h"

#include <filesystem>

#include "core/error.h"
#include "data/tokenize_example.h"
#include "io/gguf.h"

namespace whet {
namespace {

ChatTemplate template_of(const Tokenizer& tokenizer) {
  const std::string& source = tokenizer.spec().chat_template;
  if (source.empty()) return ChatTemplate::by_name("alpaca");
  try {
    return ChatTemplate::detect(source);
  } catch (const Error&) {
    return ChatTemplate::by_name("alpaca");  // as a model without a known template trains
  }
}

}  // namespace

TokenCounter::TokenCounter(const Tokenizer& tokenizer, ChatTemplate chat_template)
    : tokenizer_(&tokenizer), chat_template_(std::move(chat_template)) {}

TokenCounter TokenCounter::from_model(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(path, "model not found (give a .gguf file or a Hugging Face directory)");
  auto tokenizer = std::make_shared<const Tokenizer>(std::filesystem::is_directory(path, ec)
                                                         ? Tokenizer::from_hf_dir(path)
                                                         : Tokenizer::from_gguf(GgufFile::open(path)));
  TokenCounter counter(*tokenizer, template_of(*tokenizer));
  counter.owned_ = std::move(tokenizer);
  return counter;
}

size_t TokenCounter::count(const Record& record) const {
  return tokenize_example(record.example, *tokenizer_, chat_template_, false).ids.size();
}

}  // namespace whet
