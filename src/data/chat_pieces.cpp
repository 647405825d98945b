// How the contents are found: each message is rendered with its content replaced
// by a marker, and the markers are looked up in the output. This relies only on
// templates copying content into their output (some trim its whitespace), not on
// how each template frames a turn, so it works for every ChatTemplate format.
#include "data/chat_pieces.h"

#include <algorithm>

#include "core/error.h"

namespace whet {
namespace {

constexpr std::string_view kWhere = "chat template";
constexpr std::string_view kSpace = " \t\n\r\f\v";
constexpr char kMark = '\xFF';  // never part of UTF-8 text: no content or template can contain it

std::string marker(size_t i) { return kMark + std::to_string(i) + kMark; }

// Text as leading whitespace, core, trailing whitespace.
struct Padded {
  std::string_view lead, core, trail;
};

Padded padded(std::string_view s) {
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {s, {}, {}};
  const size_t end = s.find_last_not_of(kSpace) + 1;
  return {s.substr(0, first), s.substr(first, end - first), s.substr(end)};
}

std::string joined(const std::vector<ChatPiece>& pieces) {
  std::string text;
  for (const ChatPiece& piece : pieces) text += piece.text;
  return text;
}

}  // namespace

std::vector<ChatPiece> chat_pieces(const ChatTemplate& chat_template, const std::vector<ChatMessage>& messages) {
  std::vector<ChatMessage> marked = messages;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].content.find(kMark) != std::string::npos) fail(kWhere, "message {} is not valid UTF-8", i + 1);
    // The whitespace stays around the marker, so a template that trims content trims it here too.
    const Padded p = padded(messages[i].content);
    marked[i].content = std::string(p.lead) + marker(i) + std::string(p.trail);
  }
  const std::string rendered = chat_template.render(marked, false);
  const std::string_view view = rendered;
  const std::string end_of_turn = chat_template.end_of_turn();

  std::vector<ChatPiece> pieces;
  auto add_template_text = [&](std::string_view text, int message) {
    if (!text.empty()) pieces.push_back({std::string(text), false, message});
  };
  size_t pos = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string mark = marker(i);
    const size_t at = view.find(mark, pos);
    if (at == std::string_view::npos)
      fail(kWhere, "{}: message {} is missing from the rendered conversation", chat_template.name(), i + 1);
    // Whitespace of the content that the template kept is part of the content. (When a template
    // trims it but its own text ends in the same whitespace, that is taken as content: same text.)
    const Padded p = padded(messages[i].content);
    const std::string_view before = view.substr(pos, at - pos);
    const bool lead_kept = before.ends_with(p.lead);
    const bool trail_kept = view.substr(at + mark.size()).starts_with(p.trail);
    add_template_text(before.substr(0, before.size() - (lead_kept ? p.lead.size() : 0)), -1);
    pieces.push_back({std::string(lead_kept ? p.lead : "") + std::string(p.core) + std::string(trail_kept ? p.trail : ""),
                      true, int(i)});
    pos = at + mark.size() + (trail_kept ? p.trail.size() : 0);
    if (messages[i].role != "assistant") continue;
    // The marker that closes an assistant reply is part of what the model must learn to write.
    const std::string_view rest = view.substr(pos);
    const size_t start = std::min(rest.find_first_not_of(kSpace), rest.size());
    if (!rest.substr(start).starts_with(end_of_turn))
      fail(kWhere, "{}: assistant message {} is not closed by '{}'", chat_template.name(), i + 1, end_of_turn);
    add_template_text(rest.substr(0, start + end_of_turn.size()), int(i));
    pos += start + end_of_turn.size();
  }
  add_template_text(view.substr(pos), -1);
  if (joined(pieces) != chat_template.render(messages, false))
    fail(kWhere, "{}: cannot locate the message contents in the rendered conversation", chat_template.name());
  return pieces;
}

}  // namespace whet
