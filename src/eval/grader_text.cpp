// The graders that compare text: string_check, text_similarity and regex.
#include <fmt/format.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>

#include "eval/grader_spec.h"
#include "eval/grader_template.h"
#include "eval/metrics.h"
#include "eval/text_similarity.h"

namespace whet {

namespace {

GraderTemplate template_at(const GraderSpec& spec, const char* key, const char* fallback = nullptr) {
  return GraderTemplate(fallback ? spec.text(key, fallback) : spec.text(key), spec.where(), spec.path(key));
}

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

class StringCheck : public Grader {
 public:
  explicit StringCheck(const GraderSpec& spec)
      : input_(template_at(spec, "input")), reference_(template_at(spec, "reference")) {
    spec.only({"input", "reference", "operation"});
    constexpr std::array<std::string_view, 4> kOperations = {"eq", "ne", "like", "ilike"};
    operation_ = spec.text("operation");
    if (std::find(kOperations.begin(), kOperations.end(), operation_) == kOperations.end())
      spec.reject("operation", fmt::format("expected eq, ne, like or ilike, got '{}'", operation_));
  }

  Grade grade(const GradeInput& in) override {
    const std::string input = input_.render(in), reference = reference_.render(in);
    bool pass = false;
    if (operation_ == "eq") pass = input == reference;
    if (operation_ == "ne") pass = input != reference;
    if (operation_ == "like") pass = input.find(reference) != std::string::npos;
    if (operation_ == "ilike") pass = lowered(input).find(lowered(reference)) != std::string::npos;
    return {pass ? 1.0 : 0.0};
  }

 private:
  GraderTemplate input_, reference_;
  std::string operation_;
};

class TextSimilarity : public Grader {
 public:
  explicit TextSimilarity(const GraderSpec& spec)
      : input_(template_at(spec, "input")), reference_(template_at(spec, "reference")) {
    spec.only({"input", "reference", "evaluation_metric", "pass_threshold"});
    metric_ = spec.text("evaluation_metric", "fuzzy_match");
    constexpr std::array<std::string_view, 3> kMetrics = {"fuzzy_match", "rouge_1", "rouge_l"};
    if (std::find(kMetrics.begin(), kMetrics.end(), metric_) == kMetrics.end())
      spec.reject("evaluation_metric",
                  fmt::format("expected fuzzy_match, rouge_1 or rouge_l (others of OpenAI's, bleu, gleu, meteor, "
                              "cosine and rouge_2 to rouge_5, are not implemented), got '{}'", metric_));
    spec.number("pass_threshold", 0, 0, 1);  // OpenAI's pass mark: checked, while the reward is the score itself
  }

  Grade grade(const GradeInput& in) override {
    const std::string input = input_.render(in), reference = reference_.render(in);
    // ROUGE as `whet eval` scores it: over normalised words; ROUGE-1's F1 is the token F1.
    if (metric_ == "fuzzy_match") return {fuzzy_match(input, reference)};
    if (metric_ == "rouge_l") return {rouge_l(input, reference)};
    return {token_f1(input, reference)};
  }

 private:
  GraderTemplate input_, reference_;
  std::string metric_;
};

// An item's value inside a pattern matches itself literally.
std::string regex_escaped(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// PCRE2 with a match limit, so a pattern that backtracks without end fails instead of hanging a run.
class Regex : public Grader {
 public:
  explicit Regex(const GraderSpec& spec)
      : input_(template_at(spec, "input", "{{sample.output_text}}")), pattern_(template_at(spec, "pattern")),
        where_(spec.where()), key_(spec.path("pattern")) {
    spec.only({"input", "pattern", "ignore_case"});
    if (spec.has("ignore_case")) {
      if (!spec.at("ignore_case").is_boolean()) spec.reject("ignore_case", "expected true or false");
      ignore_case_ = spec.at("ignore_case").get<bool>();
    }
    compile(pattern_.with_placeholders("x"));  // the syntax, before any item fills the references
  }

  Grade grade(const GradeInput& in) override {
    const std::string subject = input_.render(in);
    const auto code = compile(pattern_.render(in, regex_escaped));
    pcre2_match_data* data = pcre2_match_data_create_from_pattern(code.get(), nullptr);
    pcre2_match_context* context = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(context, 1'000'000);
    const int rc = pcre2_match(code.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0, data,
                               context);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
    if (rc == PCRE2_ERROR_NOMATCH) return {0.0};
    if (rc < 0) fail(where_, "{}: matching failed: {}", key_, message(rc));
    return {1.0};
  }

 private:
  struct CodeDeleter {
    void operator()(pcre2_code* code) const { pcre2_code_free(code); }
  };

  static std::string message(int code) {
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(code, buffer, sizeof buffer);
    return reinterpret_cast<const char*>(buffer);
  }

  std::unique_ptr<pcre2_code, CodeDeleter> compile(const std::string& pattern) const {
    int error = 0;
    PCRE2_SIZE offset = 0;
    const uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (ignore_case_ ? PCRE2_CASELESS : 0);
    pcre2_code* code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error, &offset, nullptr);
    if (!code) fail(where_, "{}: invalid regular expression at offset {}: {}", key_, offset, message(error));
    return std::unique_ptr<pcre2_code, CodeDeleter>(code);
  }

  GraderTemplate input_, pattern_;
  std::string where_, key_;
  bool ignore_case_ = false;
};

}  // namespace

std::unique_ptr<Grader> make_string_check(const GraderSpec& spec) { return std::make_unique<StringCheck>(spec); }
std::unique_ptr<Grader> make_text_similarity(const GraderSpec& spec) { return std::make_unique<TextSimilarity>(spec); }
std::unique_ptr<Grader> make_regex_grader(const GraderSpec& spec) { return std::make_unique<Regex>(spec); }

}  // namespace whet
