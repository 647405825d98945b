#include "prepare/record.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace whet {
namespace {

// Shared by the const and the mutable accessor.
template <typename R>
auto find_label(R& record, const std::string& label_field) -> decltype(&record.label) {
  if (label_field.empty()) return nullptr;
  if (!label_is_training_field(label_field)) return &record.label;
  auto& e = record.example;
  if (label_field == "completion" && e.format == DataFormat::Completion) return &e.completion;
  // Alpaca's "output" is the assistant turn of the two parse_example makes.
  if (label_field == "output" && e.format == DataFormat::Alpaca && e.messages.size() == 2)
    return &e.messages[1].content;
  return nullptr;
}

}  // namespace

bool label_is_training_field(const std::string& label_field) {
  return label_field == "completion" || label_field == "output";
}

std::string* label_slot(Record& record, const std::string& label_field) { return find_label(record, label_field); }

const std::string& label_of(const Record& record, const std::string& label_field) {
  static const std::string none;
  const std::string* slot = find_label(record, label_field);
  return slot ? *slot : none;
}

std::string* target_slot(Record& record) {
  Example& e = record.example;
  if (e.format == DataFormat::Completion) return &e.completion;
  if (e.format == DataFormat::Text || e.messages.empty() || e.messages.back().role != "assistant") return nullptr;
  return &e.messages.back().content;
}

void set_label(Record& record, const std::string& label_field, const std::string& label) {
  std::string* target = target_slot(record);
  WHET_ASSERT(target != nullptr);
  if (label_is_training_field(label_field)) {
    *target = label;
    return;
  }
  record.label = label;
  *target = record.example.format == DataFormat::Completion ? label_continuation(record.example.prompt, label) : label;
}

std::vector<std::string*> text_fields(Record& record) {
  Example& e = record.example;
  switch (e.format) {
    case DataFormat::Text: return {&e.text};
    case DataFormat::Completion: return {&e.prompt, &e.completion};
    default: {
      std::vector<std::string*> fields;
      for (ChatMessage& m : e.messages) fields.push_back(&m.content);
      return fields;
    }
  }
}

std::vector<std::string*> input_fields(Record& record) {
  Example& e = record.example;
  switch (e.format) {
    case DataFormat::Text: return {};
    case DataFormat::Completion: return {&e.prompt};
    default: {
      std::vector<std::string*> fields;
      for (ChatMessage& m : e.messages)
        if (m.role != "assistant") fields.push_back(&m.content);
      return fields;
    }
  }
}

namespace {
// Chat messages one per line, each behind its role when `with_roles`.
std::string joined_text(const Record& record, bool with_roles) {
  const Example& e = record.example;
  switch (e.format) {
    case DataFormat::Text: return e.text;
    case DataFormat::Completion: return e.prompt + "\n" + e.completion;
    default: {
      std::string out;
      for (const ChatMessage& m : e.messages) out += (with_roles ? m.role + ": " : std::string()) + m.content + "\n";
      return out;
    }
  }
}
}  // namespace

std::string record_text(const Record& record) { return joined_text(record, /*with_roles=*/true); }

std::string record_content(const Record& record) { return joined_text(record, /*with_roles=*/false); }

std::string record_to_jsonl(const Record& record, const std::string& label_field) {
  const Example& e = record.example;
  nlohmann::ordered_json out;
  switch (e.format) {
    case DataFormat::Text: out["text"] = e.text; break;
    case DataFormat::Completion:
      out["prompt"] = e.prompt;
      out["completion"] = e.completion;
      break;
    case DataFormat::Alpaca:
      // The loader joins instruction and input with a blank line; writing the
      // joined text as the instruction gives the same two turns back.
      out["instruction"] = e.messages.at(0).content;
      out["output"] = e.messages.at(1).content;
      break;
    default: {
      nlohmann::ordered_json messages = nlohmann::ordered_json::array();
      for (size_t i = 0; i < e.messages.size(); ++i) {
        nlohmann::ordered_json m{{"role", e.messages[i].role}, {"content", e.messages[i].content}};
        for (size_t untrained : e.untrained)
          if (untrained == i) m["weight"] = 0;
        messages.push_back(std::move(m));
      }
      out["messages"] = std::move(messages);
    }
  }
  if (!label_field.empty() && !label_is_training_field(label_field) && !record.label.empty())
    out[label_field] = record.label;
  if (!record.chunk_id.empty()) out["chunk_id"] = record.chunk_id;
  if (record.pseudo_label_confidence >= 0) out["pseudo_label_confidence"] = record.pseudo_label_confidence;
  return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::strict);
}

}  // namespace whet
