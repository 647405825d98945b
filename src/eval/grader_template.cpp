#include "eval/grader_template.h"

#include "core/error.h"

namespace whet {

namespace {

std::string trimmed(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

// Calls each(name) for every {{ name }} and text(piece) for the text between.
template <typename Text, typename Name>
void walk(std::string_view t, std::string_view where, std::string_view key, Text text, Name name) {
  size_t at = 0;
  while (at < t.size()) {
    const size_t open = t.find("{{", at);
    if (open == std::string_view::npos) {
      text(t.substr(at));
      return;
    }
    text(t.substr(at, open - at));
    const size_t close = t.find("}}", open + 2);
    if (close == std::string_view::npos) fail(where, "{}: '{{{{' at offset {} is never closed", key, open);
    name(trimmed(t.substr(open + 2, close - open - 2)));
    at = close + 2;
  }
}

void check_name(const std::string& name, std::string_view where, std::string_view key) {
  if (name == "sample.output_text") return;
  if (name.rfind("item.", 0) == 0 && name.size() > 5 && name.back() != '.' &&
      name.find("..") == std::string::npos)
    return;
  fail(where, "{}: unknown template '{{{{{}}}}}' (use {{{{sample.output_text}}}} or {{{{item.FIELD}}}})", key, name);
}

}  // namespace

GraderTemplate::GraderTemplate(std::string text, std::string_view where, std::string_view key)
    : text_(std::move(text)), where_(where), key_(key) {
  walk(text_, where_, key_, [](std::string_view) {}, [&](const std::string& name) { check_name(name, where_, key_); });
}

std::string GraderTemplate::render(const GradeInput& input,
                                   const std::function<std::string(std::string_view)>& escape) const {
  std::string out;
  auto insert = [&](std::string_view value) { out += escape ? escape(value) : std::string(value); };
  walk(text_, where_, key_, [&](std::string_view piece) { out += piece; }, [&](const std::string& name) {
    if (name == "sample.output_text") return insert(input.output_text);
    const nlohmann::json* value = &input.item;
    size_t at = 5;  // after "item."
    while (at <= name.size()) {
      const size_t dot = std::min(name.find('.', at), name.size());
      const std::string field = name.substr(at, dot - at);
      if (!value->is_object() || !value->contains(field))
        fail(where_, "{}: the item has no field '{}' ({{{{{}}}}})", key_, name.substr(5, dot - 5), name);
      value = &value->at(field);
      at = dot + 1;
    }
    insert(value->is_string() ? value->get_ref<const std::string&>() : value->dump());
  });
  return out;
}

std::string GraderTemplate::with_placeholders(std::string_view placeholder) const {
  std::string out;
  walk(text_, where_, key_, [&](std::string_view piece) { out += piece; }, [&](const std::string&) { out += placeholder; });
  return out;
}

}  // namespace whet
