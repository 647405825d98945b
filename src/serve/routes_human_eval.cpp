// /v1/human_eval/sessions: blind side-by-side human evaluation (docs/eval.md,
// "Human evaluation"). A session holds every model's answer to every prompt of
// a task file, made in the background (HumanEvalGenerator); raters ask for
// their next item and get a prompt with two answers labelled A and B, never the
// models; their choices become win rates, Bradley–Terry scores and agreement
// (GET .../results) and preference pairs (GET .../export, the file `whet
// feedback export --human-eval` writes).
// OpenAI's API has no such endpoints; these take the shapes of its others.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "eval/task.h"
#include "serve/api_error.h"
#include "serve/data_folder_path.h"
#include "serve/human_eval_export.h"
#include "serve/human_eval_generator.h"
#include "serve/human_eval_request.h"
#include "serve/human_eval_results.h"
#include "serve/list_page.h"
#include "serve/server_state.h"
#include "track/model_uri.h"

namespace whet::serve {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json session_json(const HumanEvalSession& s) {
  return {{"object", "human_eval.session"},
          {"id", s.id},
          {"name", s.name},
          {"task", s.task},
          {"models", s.models},
          {"max_tokens", s.max_tokens},
          {"temperature", s.temperature},
          {"seed", s.seed},
          {"status", s.status},
          {"error", s.error.empty() ? json(nullptr) : json(s.error)},
          {"created_at", s.created_at},
          {"prompts", s.prompts},
          {"items", s.items},
          {"progress", {{"answers", s.answers}, {"answers_total", s.prompts * int64_t(s.models.size())}}},
          {"ratings_received", s.ratings}};
}

HumanEvalSession find_session(ServerState& state, const std::string& id) {
  auto s = state.store.get_human_eval_session(id);
  if (!s) throw not_found(fmt::format("No human evaluation session '{}'", id), "session_id", "session_not_found");
  return *s;
}

// Items are rated once every answer exists.
void require_ready(const HumanEvalSession& s) {
  if (s.status == "ready") return;
  if (s.status == "failed")
    throw ApiError(409, "invalid_request_error", fmt::format("session '{}' failed: {}", s.id, s.error), "session_id",
                   "session_failed");
  throw ApiError(409, "invalid_request_error",
                 fmt::format("session '{}' is still generating answers ({} of {}); try again shortly", s.id, s.answers,
                             s.prompts * int64_t(s.models.size())),
                 "session_id", "session_not_ready");
}

// An uploaded file's id, or a path that stays inside the data folder once resolved.
std::string task_path(ServerState& state, const std::string& task) {
  if (const auto file = state.store.get_file(task)) return file->path;
  if (task.starts_with("file-"))
    throw not_found(fmt::format("No such file: '{}'", task), "task", "file_not_found");
  const fs::path path = path_in_data_folder(
      state.options.data_dir, task, "task", "name a file under it or upload it (POST /v1/files) and give its id");
  if (!fs::is_regular_file(path))
    throw not_found(fmt::format("No task file '{}' under the data folder {}", task, state.options.data_dir), "task",
                    "task_not_found");
  return path.string();
}

// The task's prompts; errors name the task as the client gave it, with the line and key.
std::vector<HumanEvalPrompt> read_session_prompts(ServerState& state, const std::string& task) {
  const std::string path = task_path(state, task);
  std::vector<TaskItem> items;
  try {
    items = read_prompts(path);
  } catch (const Error& e) {
    std::string message = e.what();
    if (const size_t at = message.find(path); at != std::string::npos) message.replace(at, path.size(), task);
    throw invalid_request(message, "task", "invalid_task");
  }
  std::vector<HumanEvalPrompt> prompts;
  for (const TaskItem& item : items)
    prompts.push_back({int64_t(prompts.size()), int64_t(item.line), stored_prompt(item)});
  return prompts;
}

// A request's error about a model, said of the session's field `param`.
ApiError about_field(const ApiError& e, const std::string& param) {
  return ApiError(e.status, e.type, e.what(), param, e.code);
}

// The session's models as the answers are made with them: a models:/ URI is
// pinned to the version it names now (models:/NAME/VERSION), so a promotion
// while the session runs does not change whose answers are compared. Every
// model is resolved, gated and refused as /v1/chat/completions does, and every
// prompt fits every model's context with room to answer.
std::vector<std::string> session_models(ServerState& state, const SessionRequest& r,
                                        const std::vector<HumanEvalPrompt>& prompts) {
  std::vector<std::string> pinned;
  for (size_t i = 0; i < r.models.size(); ++i) {
    const std::string param = fmt::format("models[{}]", i);
    ModelRoute route;
    try {
      route = request_model_route(state, r.models[i]);
      pinned.push_back(track::is_model_uri(r.models[i]) ? pinned_model_uri(state, r.models[i]) : r.models[i]);
    } catch (const ApiError& e) {
      throw about_field(e, param);
    }
    for (size_t j = 0; j < i; ++j)
      if (pinned[j] == pinned[i])
        throw invalid_request(fmt::format("'{}' ({}) and models[{}] ({}) are both {}; compare different models", param,
                                          r.models[i], j, r.models[j], pinned[i]),
                              param, "same_model");
    const int context = usable_context(route.model->model.config);
    for (const HumanEvalPrompt& p : prompts) {
      std::vector<int32_t> tokens;
      try {
        tokens = prompt_tokens(*route.model, p.prompt);
      } catch (const Error& e) {
        throw invalid_request(fmt::format("line {}: {}", p.line, e.what()), "task", "invalid_task");
      }
      if (tokens.empty() || int(tokens.size()) >= context)
        throw invalid_request(fmt::format("line {}: the prompt has {} tokens; '{}' needs 1 to {} to answer", p.line,
                                          tokens.size(), r.models[i], context - 1),
                              "task", "context_length_exceeded");
    }
  }
  return pinned;
}

json create_session(ServerState& state, const httplib::Request& request) {
  const SessionRequest r = parse_session_request(json_body(request, state), state.options.max_tokens);
  const std::vector<HumanEvalPrompt> prompts = read_session_prompts(state, r.task);
  HumanEvalSession s;
  s.name = r.name;
  s.task = r.task;
  s.models = session_models(state, r, prompts);
  s.max_tokens = r.max_tokens;
  s.temperature = r.temperature;
  s.seed = r.seed;
  s = state.store.create_human_eval_session(s, prompts, plan_items(prompts.size(), s.models, s.seed));
  state.human_eval.start(s.id);
  return session_json(s);
}

std::string answer_text(const std::vector<HumanEvalAnswer>& answers, int64_t prompt_index, const std::string& model) {
  for (const HumanEvalAnswer& a : answers)
    if (a.prompt_index == prompt_index && a.model == model) return a.text;
  WHET_ASSERT(false);  // a ready session has every answer
}

// The rater's first unrated item, in the session's order (the task file's), so
// raters who stop early still share their first items. What A and B are is
// recorded the first time the rater is shown the item and kept after.
json next_item(ServerState& state, const HumanEvalSession& s, const std::string& rater) {
  require_ready(s);
  const std::vector<HumanEvalItem> items = state.store.human_eval_items(s.id);
  std::set<std::string> rated;
  for (const HumanEvalRating& r : state.store.human_eval_ratings(s.id))
    if (r.rater == rater) rated.insert(r.item_id);
  json out = {{"object", "human_eval.item"}, {"session_id", s.id}, {"rater", rater},
              {"rated", rated.size()},       {"total", items.size()}};
  const auto next = std::find_if(items.begin(), items.end(), [&](const auto& item) { return !rated.contains(item.id); });
  if (next == items.end()) {
    out["item_id"] = nullptr;
    out["done"] = true;
    return out;
  }
  const bool swap = second_shown_first(s.seed, next->id, rater);
  const auto [model_a, model_b] = state.store.show_human_eval_item(
      s.id, next->id, rater, swap ? next->second : next->first, swap ? next->first : next->second);
  const std::vector<HumanEvalAnswer> answers = state.store.human_eval_answers(s.id);
  json prompt;
  for (const HumanEvalPrompt& p : state.store.human_eval_prompts(s.id))
    if (p.index == next->prompt_index) prompt = p.prompt;
  out["item_id"] = next->id;
  out["done"] = false;
  out["prompt"] = prompt;
  out["answers"] = {{{"slot", "A"}, {"text", answer_text(answers, next->prompt_index, model_a)}},
                    {{"slot", "B"}, {"text", answer_text(answers, next->prompt_index, model_b)}}};
  return out;
}

json add_rating(ServerState& state, const HumanEvalSession& s, const httplib::Request& request) {
  const RatingRequest r = parse_rating_request(json_body(request, state));
  const std::vector<HumanEvalItem> items = state.store.human_eval_items(s.id);
  if (std::none_of(items.begin(), items.end(), [&](const auto& item) { return item.id == r.item_id; }))
    throw not_found(fmt::format("session '{}' has no item '{}'", s.id, r.item_id), "item_id", "item_not_found");
  const auto shown = state.store.human_eval_shown(s.id, r.item_id, r.rater);
  if (!shown)
    throw invalid_request(fmt::format("item '{}' was never shown to rater '{}', so A and B mean nothing yet; ask for "
                                      "it with GET /v1/human_eval/sessions/{}/next?rater=...",
                                      r.item_id, r.rater, s.id),
                          "item_id", "item_not_shown");
  const HumanEvalRating rating{r.item_id, r.rater, shown->first, shown->second, r.choice, r.comment, 0};
  const std::optional<std::string> replaced = state.store.add_human_eval_rating(s.id, rating);
  if (replaced)
    std::fprintf(stderr, "serve: human evaluation %s: rater %s replaced their rating of %s (%s, now %s)\n",
                 s.id.c_str(), r.rater.c_str(), r.item_id.c_str(), replaced->c_str(), r.choice.c_str());
  return {{"object", "human_eval.rating"},
          {"session_id", s.id},
          {"item_id", r.item_id},
          {"rater", r.rater},
          {"choice", r.choice},
          {"comment", r.comment.empty() ? json(nullptr) : json(r.comment)},
          {"replaced", replaced.has_value()}};
}

// The session's A/B ratings as preference pairs, the JSONL `whet feedback export
// --human-eval` writes; the counts of what was written and skipped in headers.
void send_export(ServerState& state, const httplib::Request& request, httplib::Response& response) {
  const HumanEvalSession s = find_session(state, request.matches[1].str());
  const std::string format = request.has_param("format") ? request.get_param_value("format") : "preference";
  if (format != "preference")
    throw invalid_request(fmt::format("'format' must be \"preference\" (a rating compares two answers: OpenAI's "
                                      "preference JSONL), got \"{}\"",
                                      format),
                          "format", "unsupported_format");
  require_ready(s);
  const FeedbackDataset dataset = human_eval_session_dataset(state.store, s.id, "human evaluation export");
  int64_t skipped = 0;
  for (const auto& [reason, n] : dataset.skipped) skipped += n;
  response.set_header("Content-Disposition", fmt::format("attachment; filename=\"{}.jsonl\"", s.id));
  response.set_header("X-Whet-Pairs", std::to_string(dataset.lines.size()));
  response.set_header("X-Whet-Skipped", std::to_string(skipped));
  response.set_content(dataset_text(dataset), "application/jsonl; charset=utf-8");
}

}  // namespace

void add_human_eval_routes(httplib::Server& server, ServerState& state) {
  const std::string session = R"(/v1/human_eval/sessions/([^/]+))";
  add_route(server, state, "POST", "/v1/human_eval/sessions", "human_eval_create", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              send_json(response, create_session(state, request));
            });
  add_route(server, state, "GET", "/v1/human_eval/sessions", "human_eval_list", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const auto [after, limit] = page(request);
              send_json(response, list_page(listed([&] { return state.store.list_human_eval_sessions(after, limit + 1); }),
                                            limit, session_json));
            });
  add_route(server, state, "GET", session, "human_eval_session", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              send_json(response, session_json(find_session(state, request.matches[1].str())));
            });
  add_route(server, state, "GET", session + "/next", "human_eval_next", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const HumanEvalSession s = find_session(state, request.matches[1].str());
              send_json(response, next_item(state, s, checked_rater(request.get_param_value("rater"), "rater")));
            });
  add_route(server, state, "POST", session + "/ratings", "human_eval_rate", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              send_json(response, add_rating(state, find_session(state, request.matches[1].str()), request));
            });
  add_route(server, state, "GET", session + "/results", "human_eval_results", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const HumanEvalSession s = find_session(state, request.matches[1].str());
              send_json(response,
                        human_eval_results(s, state.store.human_eval_items(s.id), state.store.human_eval_ratings(s.id)));
            });
  add_route(server, state, "GET", session + "/export", "human_eval_export", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              send_export(state, request, response);
            });
}

}  // namespace whet::serve
