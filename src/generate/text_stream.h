#pragma once
// The text side of decoding, shared by `whet generate` and the server: sampled
// tokens become text, the answer ends at an end token or a stop string, and text
// is released only once it is final (never a split UTF-8 character, never text
// that a stop string may still claim).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/model_loader.h"

namespace whet {

class TextStream {
 public:
  // `stops`: the caller's stop strings; the chat template's end of turn is added.
  TextStream(const LoadedModel& model, std::vector<std::string> stops);

  // Takes one sampled token. Returns false when the answer has ended with it
  // (finish_reason() is then "stop"); the ending token or stop string is not part of text().
  bool push(int32_t token);
  // Text that became final since the last call. After finish(), everything left,
  // even the bytes of a character the model never completed.
  std::string_view take_final();
  // Ends the answer for another reason ("length"), releasing the held-back text.
  void finish(std::string reason);

  const std::string& text() const { return text_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }  // generated, the end token excluded
  const std::string& finish_reason() const { return finish_reason_; }  // "" while running

 private:
  const LoadedModel& model_;
  std::vector<std::string> stops_;
  size_t longest_stop_ = 0;
  std::string text_;
  std::vector<int32_t> tokens_;
  size_t final_end_ = 0;    // text_[0, final_end_) can no longer change
  size_t released_ = 0;     // text_[0, released_) was handed out by take_final
  std::string finish_reason_;
};

}  // namespace whet
