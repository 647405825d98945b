#pragma once
// Typed reading of one grader object, shared by the grader kinds: every
// complaint is "[where] grader.key: problem", and keys a kind does not know are
// refused rather than ignored (a misspelt key would silently change the score).
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/grader.h"

namespace whet {

class GraderSpec {
 public:
  GraderSpec(const nlohmann::json& object, std::string where, std::string path)
      : object_(object), where_(std::move(where)), path_(std::move(path)) {}

  bool has(const char* key) const { return object_.contains(key) && !object_.at(key).is_null(); }
  const nlohmann::json& at(const char* key) const;  // required
  std::string text(const char* key) const;          // a required string
  std::string text(const char* key, std::string fallback) const;
  double number(const char* key, double fallback, double min, double max) const;
  // Refuses keys outside `known` (name and type are always known).
  void only(std::initializer_list<std::string_view> known) const;
  [[noreturn]] void reject(std::string_view key, std::string_view problem) const;

  const std::string& where() const { return where_; }
  std::string path(std::string_view key) const { return path_ + "." + std::string(key); }
  const std::string& path() const { return path_; }

 private:
  const nlohmann::json& object_;
  std::string where_, path_;
};

// The kinds, each in a file of its own.
std::unique_ptr<Grader> make_string_check(const GraderSpec& spec);
std::unique_ptr<Grader> make_text_similarity(const GraderSpec& spec);
std::unique_ptr<Grader> make_regex_grader(const GraderSpec& spec);
std::unique_ptr<Grader> make_json_schema_grader(const GraderSpec& spec);
std::unique_ptr<Grader> make_command_grader(const GraderSpec& spec, const GraderContext& context);
std::unique_ptr<Grader> make_score_model_grader(const GraderSpec& spec, const GraderContext& context);
std::unique_ptr<Grader> make_multi_grader(const GraderSpec& spec, const GraderContext& context);

// A grader at `path` inside another's config (multi's graders.NAME).
std::unique_ptr<Grader> make_grader_at(const nlohmann::json& config, const std::string& where,
                                       const GraderContext& context, const std::string& path);

}  // namespace whet
