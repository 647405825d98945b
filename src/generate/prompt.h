#pragma once
// Turning a conversation into prompt tokens with the model's own chat template.
#include <cstdint>
#include <vector>

#include "models/model_loader.h"

namespace whet {

// Renders `messages` with the model's template (ending where the assistant's
// reply begins) and tokenizes it. Throws whet::Error naming the known templates
// when the model has none that Whet recognises.
std::vector<int32_t> chat_prompt_tokens(const LoadedModel& model, const std::vector<ChatMessage>& messages);

}  // namespace whet
