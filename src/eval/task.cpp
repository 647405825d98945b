#include "eval/task.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/error.h"
#include "data/json_line.h"
#include "data/preference_example.h"

namespace whet {
namespace {

using json = nlohmann::json;

constexpr std::string_view kKindNames[] = {"perplexity", "classification", "multiple choice", "generation",
                                           "counterfactual", "preference"};

TaskKind detect_kind(const json& object, const std::string& where) {
  if (json_member(object, "chosen") || json_member(object, "preferred_output")) return TaskKind::Preference;
  if (json_member(object, "template")) return TaskKind::Counterfactual;
  if (json_member(object, "text")) return TaskKind::Perplexity;
  if (json_member(object, "label")) return TaskKind::Classification;
  if (json_member(object, "choices")) return TaskKind::MultipleChoice;
  if (json_member(object, "answer") || json_member(object, "answers")) return TaskKind::Generation;
  fail(where, "unknown task line: expected \"text\"; \"prompt\" or \"messages\" with \"label\", \"choices\" and "
              "\"answer\", or \"answer\"/\"answers\"; or \"template\" with \"groups\"");
}

std::vector<std::string> string_list(const json& object, const std::string& key, const std::string& where) {
  const json* list = json_member(object, key);
  if (!list) fail(where, "{}: missing", key);
  if (!list->is_array() || list->empty()) fail(where, "{}: expected a non-empty array of strings", key);
  std::vector<std::string> out;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& v = (*list)[i];
    if (!v.is_string() || v.get_ref<const std::string&>().empty())
      fail(where, "{}[{}]: expected a non-empty string, got {}", key, i, v.type_name());
    out.push_back(v.get<std::string>());
  }
  return out;
}

void read_prompt(const json& object, TaskItem& item, const std::string& where) {
  if (!json_member(object, "messages")) {
    item.prompt = json_string_at(object, "prompt", "prompt", where);
    return;
  }
  const json& messages = json_messages(object, where);
  for (size_t i = 0; i < messages.size(); ++i) item.messages.push_back(json_chat_message(messages[i], i, where));
  if (item.messages.back().role != "user") fail(where, "messages: the last message must be the user's");
}

void read_answer_index(const json& object, TaskItem& item, const std::string& where) {
  const json* answer = json_member(object, "answer");
  if (!answer) fail(where, "answer: missing");
  if (!answer->is_number_integer() || answer->get<int64_t>() < 0 ||
      answer->get<int64_t>() >= int64_t(item.choices.size()))
    fail(where, "answer: expected an index into choices (0 to {}), got {}", item.choices.size() - 1, answer->dump());
  item.answer = answer->get<int>();
}

void read_groups(const json& object, TaskItem& item, const std::string& where) {
  item.template_text = json_nonempty_string_at(object, "template", where);
  if (item.template_text.find("{group}") == std::string::npos) fail(where, "template: has no {{group}} slot");
  const json* groups = json_member(object, "groups");
  if (!groups || !groups->is_object() || groups->size() < 2)
    fail(where, "groups: expected an object of at least two group names and their substitutions");
  for (const auto& [name, substitution] : groups->items()) {
    if (!substitution.is_string()) fail(where, "groups.{}: expected a string", name);
    item.groups.emplace_back(name, substitution.get<std::string>());
  }
  if (json_member(object, "dimension")) item.dimension = json_nonempty_string_at(object, "dimension", where);
}

TaskItem parse_item(const json& object, TaskKind kind, const std::string& where) {
  TaskItem item;
  switch (kind) {
    case TaskKind::Perplexity: item.text = json_nonempty_string_at(object, "text", where); break;
    case TaskKind::Classification:
      read_prompt(object, item, where);
      item.label = json_nonempty_string_at(object, "label", where);
      break;
    case TaskKind::MultipleChoice:
      read_prompt(object, item, where);
      item.choices = string_list(object, "choices", where);
      read_answer_index(object, item, where);
      break;
    case TaskKind::Generation:
      read_prompt(object, item, where);
      item.answers = json_member(object, "answers") ? string_list(object, "answers", where)
                                                     : std::vector{json_nonempty_string_at(object, "answer", where)};
      break;
    case TaskKind::Counterfactual: read_groups(object, item, where); break;
    case TaskKind::Preference: WHET_ASSERT(false);  // preference_item reads these
  }
  return item;
}

// A pair read as preference training reads it (data/preference_example.h), so
// a held-out file of training's shape evaluates as it is.
TaskItem preference_item(const json& object, const std::string& path, size_t line) {
  const PreferenceExample pair =
      std::get<PreferenceExample>(parse_preference_line(object.dump(), DataFormat::Preference, path, line));
  TaskItem item;
  item.messages = pair.prompt.messages;
  item.prompt = pair.prompt.text;
  item.choices = {pair.chosen, pair.rejected};
  item.answer = 0;
  return item;
}

}  // namespace

std::string_view task_kind_name(TaskKind kind) { return kKindNames[size_t(kind)]; }

namespace {

// Calls fn(object, where, line_number) for each non-blank line: a UTF-8 BOM,
// CRLF endings and blank lines are accepted, anything but a JSON object is not.
void for_each_object(const std::string& path, std::string_view text,
                     const std::function<void(const json&, const std::string&, size_t)>& fn) {
  size_t line_number = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line_number == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string where = fmt::format("{}:{}", path, line_number);
    const json object = parse_json_line(line, where);
    if (!object.is_object()) fail(where, "expected a JSON object, got {}", object.type_name());
    fn(object, where, line_number);
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot read the file");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Task parse_task(const std::string& path, std::string_view text) {
  Task task;
  task.path = path;
  std::set<std::string> labels;
  for_each_object(path, text, [&](const json& object, const std::string& where, size_t line_number) {
    const TaskKind kind = detect_kind(object, where);
    if (task.items.empty()) task.kind = kind;
    if (kind != task.kind)
      fail(where, "a {} line in a {} task (one kind per file)", task_kind_name(kind), task_kind_name(task.kind));
    task.items.push_back(kind == TaskKind::Preference ? preference_item(object, path, line_number)
                                                      : parse_item(object, kind, where));
    task.items.back().line = line_number;
    if (kind == TaskKind::Classification) labels.insert(task.items.back().label);
  });
  if (task.items.empty()) fail(path, "no task items");
  if (task.kind == TaskKind::Classification && labels.size() < 2)
    fail(path, "a classification task needs at least two labels, found {}", labels.size());
  task.labels.assign(labels.begin(), labels.end());
  return task;
}

Task read_task(const std::string& path) { return parse_task(path, read_text(path)); }

std::vector<TaskItem> parse_prompts(const std::string& path, std::string_view text) {
  std::vector<TaskItem> items;
  for_each_object(path, text, [&](const json& object, const std::string& where, size_t line_number) {
    TaskItem& item = items.emplace_back();
    read_prompt(object, item, where);
    if (json_member(object, "label")) item.label = json_nonempty_string_at(object, "label", where);
    item.line = line_number;
  });
  if (items.empty()) fail(path, "no prompts");
  return items;
}

std::vector<TaskItem> read_prompts(const std::string& path) { return parse_prompts(path, read_text(path)); }

Example scored_example(const TaskItem& item, const std::string& continuation) {
  Example example;
  example.line = item.line;
  if (item.messages.empty()) {
    example.format = DataFormat::Completion;
    example.prompt = item.prompt;
    example.completion = continuation;
  } else {
    example.format = DataFormat::Chat;
    example.messages = item.messages;
    example.messages.push_back({"assistant", continuation});
  }
  return example;
}

std::string reference_answer(const TaskItem& item, TaskKind kind) {
  return kind == TaskKind::Classification   ? item.label
         : kind == TaskKind::MultipleChoice || kind == TaskKind::Preference ? item.choices.at(size_t(item.answer))
                                            : item.answers.at(0);
}

std::string reference_continuation(const TaskItem& item, TaskKind kind) {
  const std::string answer = reference_answer(item, kind);
  return item.messages.empty() ? label_continuation(item.prompt, answer) : answer;
}

TaskItem with_shots(const TaskItem& item, const std::vector<TaskItem>& shots, TaskKind kind) {
  TaskItem out = item;
  if (item.messages.empty()) {
    std::string prefix;
    for (const TaskItem& shot : shots) prefix += shot.prompt + reference_continuation(shot, kind) + "\n\n";
    out.prompt = prefix + item.prompt;
    return out;
  }
  out.messages.clear();
  // A system message stays first; each shot adds its user turns and the right answer.
  if (item.messages.front().role == "system") out.messages.push_back(item.messages.front());
  for (const TaskItem& shot : shots) {
    for (const ChatMessage& m : shot.messages)
      if (m.role != "system") out.messages.push_back(m);
    out.messages.push_back({"assistant", reference_continuation(shot, kind)});
  }
  for (const ChatMessage& m : item.messages)
    if (m.role != "system") out.messages.push_back(m);
  return out;
}

}  // namespace whet
