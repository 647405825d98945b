#pragma once
// Graders: a score for a model's completion of one data item, for online RL
// (GRPO) and checks of generated answers. The shapes are OpenAI's grader
// objects (docs/training.md, "GRPO and graders"), read from JSON or YAML:
//   string_check     operation eq | ne | like (contains) | ilike (contains, any case): 1 or 0
//   text_similarity  evaluation_metric fuzzy_match | rouge_1 | rouge_l: a score in [0, 1]
//   regex            1 when `pattern` (PCRE2) matches somewhere in `input`, else 0
//   json_schema      1 when `input` parses as JSON valid under `schema` (a subset of JSON Schema), else 0
//   score_model      a reward model's score (a sequence-classification head on the base model)
//   command          an external program: the sample as JSON on stdin, a number on stdout, killed after a timeout
//   multi            named graders combined by calculate_output (+ − * / and parentheses over their names)
// Strings may hold templates: {{sample.output_text}} is the completion,
// {{item.field}} (or item.a.b) a field of the data line.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "models/model_loader.h"

namespace whet {

// What a grader reads: the completion as text and as tokens, its prompt's
// tokens, and the data line it answers (a JSON object).
struct GradeInput {
  std::string_view output_text;
  const nlohmann::json& item;
  std::span<const int32_t> prompt_tokens = {}, output_tokens = {};
};

struct Grade {
  double score = 0;
  std::string warning;  // why the score is 0 instead of a measure (a command's timeout); empty when measured
};

class Grader {
 public:
  virtual ~Grader() = default;
  // whet::Error for what makes grading impossible (a template naming a field the
  // item lacks, a command that fails or prints no number).
  virtual Grade grade(const GradeInput& input) = 0;
};

// What graders may use besides their config: the base model (score_model), and
// the folder relative paths (a head, a command's working folder) are taken from.
struct GraderContext {
  const LoadedModel* model = nullptr;
  std::string folder = ".";
  // A grader a client sent over HTTP (a server's reinforcement job): it may not
  // run a program or read a folder on the server, so command and score_model are refused.
  bool from_client = false;
};

// One grader object. `where` names its origin in errors ("grader.json",
// "train.yaml:12"); every complaint names the key ("grader.graders.sum.operation").
std::unique_ptr<Grader> make_grader(const nlohmann::json& config, const std::string& where,
                                    const GraderContext& context);

// A grader file: JSON or YAML holding one grader object.
nlohmann::json read_grader_file(const std::string& path);

}  // namespace whet
