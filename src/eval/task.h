#pragma once
// Evaluation task files: JSONL whose keys say what kind of task each line is,
// documented in docs/eval.md. One kind per file. A prompt is raw text
// ("prompt") or a conversation ("messages", rendered with the model's chat
// template up to the assistant's reply), exactly as the training formats are,
// so a labelled file can be trained on and evaluated with the same prompts.
#include <string>
#include <utility>
#include <vector>

#include "data/example.h"

namespace whet {

enum class TaskKind {
  Perplexity,      // {"text"}
  Classification,  // {"prompt"|"messages", "label"}; the label set is the file's labels
  MultipleChoice,  // {"prompt"|"messages", "choices": [...], "answer": index}
  Generation,      // {"prompt"|"messages", "answer": "..." | "answers": [...]}
  Counterfactual,  // {"template": "... {group} ...", "groups": {"name": "substitution", ...}, "dimension"?}
  Preference,      // a preference pair as training reads it: {"prompt", "chosen", "rejected"} or OpenAI's
};
std::string_view task_kind_name(TaskKind kind);

struct TaskItem {
  size_t line = 0;
  std::string text;                          // Perplexity
  std::string prompt;                        // raw prompt, when `messages` is empty
  std::vector<ChatMessage> messages;         // chat prompt, ending with a user turn
  std::string label;                         // Classification
  std::vector<std::string> choices;          // MultipleChoice; Preference: {chosen, rejected}
  int answer = -1;                           // MultipleChoice: index into choices (Preference: 0)
  std::vector<std::string> answers;          // Generation: any of them is right
  std::string template_text, dimension;      // Counterfactual
  std::vector<std::pair<std::string, std::string>> groups;  // Counterfactual: (group, substitution), by group name
};

struct Task {
  std::string path;  // as given, for messages and reports
  TaskKind kind = TaskKind::Perplexity;
  std::vector<TaskItem> items;
  std::vector<std::string> labels;  // Classification: the sorted set of labels in the file
};

// Throws whet::Error "[path:line] key: problem" for a malformed line, a line of
// another kind than the first, or a file without items.
Task read_task(const std::string& path);
// The same from text already in memory (the built-in general-ability tasks).
Task parse_task(const std::string& path, std::string_view text);

// Lines of prompts to classify: {"prompt" or "messages", "label"?}; errors name the file and line.
std::vector<TaskItem> read_prompts(const std::string& path);
std::vector<TaskItem> parse_prompts(const std::string& path, std::string_view text);

// The item's prompt followed by `continuation` as a training example, so
// tokenize_example() gives the scored tokens exactly as training saw them.
Example scored_example(const TaskItem& item, const std::string& continuation);
// A right answer: the label, the right choice or the first answer.
std::string reference_answer(const TaskItem& item, TaskKind kind);
// What a right answer continues the prompt with: reference_answer, joined as training joins it.
std::string reference_continuation(const TaskItem& item, TaskKind kind);

// The item with `shots` placed before it: raw prompts are joined as
// "prompt continuation\n\n", conversations as earlier user/assistant turns.
TaskItem with_shots(const TaskItem& item, const std::vector<TaskItem>& shots, TaskKind kind);

}  // namespace whet
