// json_schema: 1 when the input parses as JSON (the whole text, surrounding
// whitespace allowed) and is valid under the schema (eval/json_schema.h), else 0.
#include "eval/grader_spec.h"
#include "eval/grader_template.h"
#include "eval/json_schema.h"

namespace whet {

namespace {

class JsonSchemaGrader : public Grader {
 public:
  explicit JsonSchemaGrader(const GraderSpec& spec)
      : input_(spec.text("input", "{{sample.output_text}}"), spec.where(), spec.path("input")),
        schema_(spec.at("schema")) {
    spec.only({"input", "schema"});
    check_json_schema(schema_, spec.where(), spec.path("schema"));
  }

  Grade grade(const GradeInput& in) override {
    const nlohmann::json value = nlohmann::json::parse(input_.render(in), nullptr, /*allow_exceptions=*/false);
    return {!value.is_discarded() && json_schema_valid(value, schema_) ? 1.0 : 0.0};
  }

 private:
  GraderTemplate input_;
  nlohmann::json schema_;
};

}  // namespace

std::unique_ptr<Grader> make_json_schema_grader(const GraderSpec& spec) {
  return std::make_unique<JsonSchemaGrader>(spec);
}

}  // namespace whet
