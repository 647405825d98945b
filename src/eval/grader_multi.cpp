// multi: named graders combined by an arithmetic formula over their names
// (OpenAI's calculate_output): numbers, names, + − * /, unary minus and
// parentheses. The formula is checked when read, with every score 1.
#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <algorithm>
#include <map>

#include "eval/grader_spec.h"

namespace whet {

namespace {

// Recursive descent over the formula; depth is bounded by the formula's length, itself bounded.
class Formula {
 public:
  // `key` names the formula in errors: "[where] grader.calculate_output: ...".
  Formula(std::string_view text, const std::map<std::string, double>& scores, std::string_view where,
          std::string_view key)
      : text_(text), scores_(scores), where_(where), key_(key) {}

  double value() {
    const double v = sum();
    skip_spaces();
    if (at_ < text_.size()) error(fmt::format("unexpected '{}' at offset {}", text_[at_], at_));
    return v;
  }

 private:
  double sum() {
    double v = product();
    for (char op = next(); op == '+' || op == '-'; op = next()) {
      ++at_;
      v = op == '+' ? v + product() : v - product();
    }
    return v;
  }

  double product() {
    double v = factor();
    for (char op = next(); op == '*' || op == '/'; op = next()) {
      ++at_;
      v = op == '*' ? v * factor() : v / factor();
    }
    return v;
  }

  double factor() {
    if (++depth_ > 200) error("nested too deeply");
    const char c = next();
    double v = 0;
    if (c == '-') {
      ++at_;
      v = -factor();
    } else if (c == '(') {
      ++at_;
      v = sum();
      if (next() != ')') error(fmt::format("expected ')' at offset {}", at_));
      ++at_;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      v = number();
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      v = name();
    } else {
      error(c ? fmt::format("unexpected '{}' at offset {}", c, at_) : "ends too early");
    }
    --depth_;
    return v;
  }

  double number() {
    const std::string rest(text_.substr(at_));
    char* end = nullptr;
    const double v = std::strtod(rest.c_str(), &end);
    at_ += size_t(end - rest.c_str());
    return v;
  }

  double name() {
    const size_t start = at_;
    while (at_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[at_])) || text_[at_] == '_')) ++at_;
    const std::string n(text_.substr(start, at_ - start));
    const auto it = scores_.find(n);
    if (it == scores_.end()) error(fmt::format("'{}' is not one of the graders", n));
    return it->second;
  }

  char next() {
    skip_spaces();
    return at_ < text_.size() ? text_[at_] : '\0';
  }
  void skip_spaces() {
    while (at_ < text_.size() && text_[at_] == ' ') ++at_;
  }
  [[noreturn]] void error(const std::string& problem) const { fail(where_, "{}: {}", key_, problem); }

  std::string_view text_;
  const std::map<std::string, double>& scores_;
  std::string_view where_, key_;
  size_t at_ = 0;
  int depth_ = 0;
};

class MultiGrader : public Grader {
 public:
  MultiGrader(const GraderSpec& spec, const GraderContext& context)
      : where_(spec.where()), key_(spec.path("calculate_output")), formula_(spec.text("calculate_output")) {
    spec.only({"graders", "calculate_output"});
    const nlohmann::json& graders = spec.at("graders");
    if (!graders.is_object() || graders.empty()) spec.reject("graders", "expected a mapping of names to graders");
    std::map<std::string, double> ones;
    for (const auto& [name, config] : graders.items()) {
      const bool plain = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                         std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
      if (!plain) spec.reject("graders", fmt::format("'{}': a name is letters, digits and _, not starting with a digit", name));
      graders_.emplace_back(name, make_grader_at(config, spec.where(), context, spec.path("graders") + "." + name));
      ones[name] = 1.0;
    }
    Formula(formula_, ones, where_, key_).value();
  }

  Grade grade(const GradeInput& in) override {
    std::map<std::string, double> scores;
    Grade out;
    for (auto& [name, grader] : graders_) {
      const Grade g = grader->grade(in);
      scores[name] = g.score;
      if (!g.warning.empty()) out.warning += (out.warning.empty() ? "" : "; ") + name + ": " + g.warning;
    }
    out.score = Formula(formula_, scores, where_, key_).value();
    return out;
  }

 private:
  std::string where_, key_, formula_;
  std::vector<std::pair<std::string, std::unique_ptr<Grader>>> graders_;
};

}  // namespace

std::unique_ptr<Grader> make_multi_grader(const GraderSpec& spec, const GraderContext& context) {
  return std::make_unique<MultiGrader>(spec, context);
}

}  // namespace whet
