#pragma once
// The templates of grader strings: {{sample.output_text}} and {{item.field}}
// (item.a.b for nested objects; spaces inside the braces are allowed). A
// string item field is inserted as it is, any other JSON value as JSON text.
#include <functional>
#include <string>
#include <string_view>

#include "eval/grader.h"

namespace whet {

class GraderTemplate {
 public:
  GraderTemplate() = default;
  // whet::Error "[where] key: ..." for an unclosed {{ or a name other than sample.output_text or item.*.
  GraderTemplate(std::string text, std::string_view where, std::string_view key);

  // The text with its references filled in; `escape` is applied to each inserted value.
  // whet::Error naming the key and the field when the item lacks it.
  std::string render(const GradeInput& input, const std::function<std::string(std::string_view)>& escape = {}) const;
  // The text with every reference replaced by `placeholder` (to check a pattern's syntax before any item).
  std::string with_placeholders(std::string_view placeholder) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_, where_, key_;
};

}  // namespace whet
