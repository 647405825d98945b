#include "generate/text_stream.h"

#include <algorithm>

namespace whet {

namespace {

// Length of the longest prefix of `text` that is whole UTF-8 characters.
size_t complete_utf8_prefix(std::string_view text) {
  size_t end = text.size();
  for (size_t back = 1; back <= 4 && back <= text.size(); ++back) {
    const unsigned char c = text[text.size() - back];
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (need > back) end = text.size() - back;
    break;
  }
  return end;
}

}  // namespace

TextStream::TextStream(const LoadedModel& model, std::vector<std::string> stops)
    : model_(model), stops_(std::move(stops)) {
  if (model.chat_template) stops_.push_back(model.chat_template->end_of_turn());
  std::erase(stops_, std::string());
  for (const auto& s : stops_) longest_stop_ = std::max(longest_stop_, s.size());
}

bool TextStream::push(int32_t token) {
  if (model_.tokenizer.is_end_of_generation(token)) {
    finish("stop");
    return false;
  }
  tokens_.push_back(token);
  const size_t searched = text_.size();
  text_ += model_.tokenizer.token_bytes(token);

  size_t stop_at = std::string::npos;
  for (const auto& s : stops_) {
    const size_t from = searched > s.size() ? searched - s.size() : 0;
    stop_at = std::min(stop_at, text_.find(s, from));
  }
  if (stop_at != std::string::npos) {
    text_.resize(stop_at);
    finish("stop");
    return false;
  }
  // Hold back what a stop string could still claim, and any split character.
  size_t safe = text_.size() > longest_stop_ ? text_.size() - longest_stop_ + (longest_stop_ ? 1 : 0) : 0;
  safe = std::min(safe, complete_utf8_prefix(text_));
  final_end_ = std::max(final_end_, safe);
  return true;
}

void TextStream::finish(std::string reason) {
  finish_reason_ = std::move(reason);
  final_end_ = text_.size();  // a split character at the very end is released as it is, not lost
}

std::string_view TextStream::take_final() {
  const size_t begin = std::min(released_, final_end_);
  released_ = std::max(released_, final_end_);
  return std::string_view(text_).substr(begin, final_end_ - begin);
}

}  // namespace whet
