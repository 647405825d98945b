#pragma once
// Human evaluation sessions (docs/eval.md, "Human evaluation"): every model's
// answer to every prompt of a task file, shown to raters two at a time without
// the models' names, in an order that differs per item and rater. This file
// holds what a session is and the pure rules that lay it out: which pair of
// models each item compares, and which of the two is shown as "A" to whom.
// The store keeps sessions (job_store_human_eval.cpp); routes_human_eval.cpp serves them.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace whet::serve {

struct HumanEvalSession {
  std::string id;                   // "heval-<hex>"
  std::string name;
  std::string task;                 // as the request named it: a path under the data folder, or a file id
  std::vector<std::string> models;  // as the requests name them; two or more, all different
  int max_tokens = 256;
  double temperature = 0;           // 0: greedy
  uint64_t seed = 0;                // sampling, the blind order and the bootstrap
  std::string status = "generating";  // "generating" | "ready" | "failed"
  std::string error;                  // why it failed; "" otherwise
  int64_t created_at = 0;
  // Counts the store fills in when it reads a session.
  int64_t prompts = 0, items = 0, answers = 0, ratings = 0;
};

// A prompt of the task file: raw text (a JSON string) or a conversation (a JSON
// array of {"role", "content"}), and its line in the file.
struct HumanEvalPrompt {
  int64_t index = 0;
  int64_t line = 0;
  nlohmann::json prompt;
};

struct HumanEvalAnswer {
  int64_t prompt_index = 0;
  std::string model;
  std::string text;
  std::string finish_reason;  // "stop" or "length"
};

// One comparison to rate: a prompt and two models, in the session's model order.
struct HumanEvalItem {
  std::string id;  // "item-<n>": says nothing about the models
  int64_t prompt_index = 0;
  std::string first, second;
  friend bool operator==(const HumanEvalItem&, const HumanEvalItem&) = default;
};

// A rater's word on an item, with the model that rater was shown as "A".
struct HumanEvalRating {
  std::string item_id, rater;
  std::string model_a, model_b;
  std::string choice;  // "A", "B", "tie" or "both_bad"
  std::string comment;
  int64_t created_at = 0;
};

inline constexpr std::string_view kHumanEvalChoices[] = {"A", "B", "tie", "both_bad"};

// The items of a session: each prompt compares ceil(pairs / prompts) pairs of
// models (one when there are at least as many prompts as pairs), taken in turn
// from the list of all pairs in an order shuffled by `seed`, so every pair is
// compared and no two pairs' counts differ by more than one. With two models:
// one item per prompt. Items are listed by prompt, in the file's order.
std::vector<HumanEvalItem> plan_items(size_t prompts, const std::vector<std::string>& models, uint64_t seed);

// Whether `rater` sees the item's second model as "A": a hash of the session's
// seed, the item and the rater, so it varies across items and raters, repeats
// for the same three, and cannot be told from what a rater sees.
bool second_shown_first(uint64_t seed, std::string_view item_id, std::string_view rater);

// The rating in the item's pair's terms: 0 its first model better, 1 its second, 2 a tie, 3 both bad.
int pair_judgment(const HumanEvalRating& rating, const HumanEvalItem& item);

}  // namespace whet::serve
