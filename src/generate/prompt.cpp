#include "generate/prompt.h"

#include <fmt/format.h>

#include "core/error.h"

namespace whet {

std::vector<int32_t> chat_prompt_tokens(const LoadedModel& model, const std::vector<ChatMessage>& messages) {
  if (!model.chat_template) {
    fail("chat template", "{} has no chat template Whet recognises (known: {}); use --raw or --template NAME",
         model.path, fmt::join(ChatTemplate::known_names(), ", "));
  }
  std::string text = model.chat_template->render(messages, /*add_generation_prompt=*/true);
  // The tokenizer adds BOS itself when the model asks for it; do not let the template add a second one.
  const std::string& bos = model.chat_template->bos_text;
  if (model.tokenizer.spec().add_bos && !bos.empty() && text.starts_with(bos)) text.erase(0, bos.size());
  return model.tokenizer.encode(text);
}

}  // namespace whet
