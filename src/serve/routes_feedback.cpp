// POST /v1/feedback and GET /v1/feedback: people's word on the completions the
// server produced (a thumbs up or down, the answer they wanted instead, or the
// better of two answers to one prompt), kept for `whet feedback export`.
// OpenAI's API has no such endpoint; this one takes the shapes of its others.
#include <fmt/format.h>

#include "serve/api_error.h"
#include "serve/feedback_request.h"
#include "serve/list_page.h"
#include "serve/server_state.h"

namespace whet::serve {

namespace {

using nlohmann::json;

StoredCompletion find_completion(ServerState& state, const FeedbackRequest& request, size_t i) {
  const CompletionChoice& c = request.choices[i];
  auto found = state.store.get_completion(c.id, c.choice_index);
  if (!found)
    throw not_found(fmt::format("No completion '{}' with choice {} is kept: it was never made by this server, or "
                                "it is older than the last {} choices the server keeps (--max-stored-completions)",
                                c.id, c.choice_index, state.options.max_stored_completions),
                    request.choice_param(i), "completion_not_found");
  return *found;
}

// A request's completions, looked up; the two of a comparison must answer the same prompt.
Feedback feedback_of(ServerState& state, const FeedbackRequest& request) {
  Feedback f;
  for (size_t i = 0; i < request.choices.size(); ++i) f.completions.push_back(find_completion(state, request, i));
  if (request.comparison() && f.completions[0].prompt != f.completions[1].prompt)
    throw invalid_request("the two completions answer different prompts; a comparison is between answers to one prompt",
                          "completion_ids", "prompt_mismatch");
  f.kind = request.comparison() ? "comparison" : "rating";
  f.rating = request.rating;
  f.preferred_output = request.preferred_output;
  f.preferred = request.preferred;
  f.comment = request.comment;
  return f;
}

// The metric's label: "up", "down" or "comparison".
std::string feedback_label(const Feedback& f) { return f.kind == "comparison" ? f.kind : f.rating; }

json feedback_json(const Feedback& f) {
  auto or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  json completions = json::array();
  for (const StoredCompletion& c : f.completions) completions.push_back(completion_json(c));
  json j = {{"object", "feedback"}, {"id", f.id}, {"created_at", f.created_at}, {"type", f.kind}};
  if (f.kind == "comparison") {
    j["completion_ids"] = {f.completions[0].id, f.completions[1].id};
    j["choice_indices"] = {f.completions[0].choice_index, f.completions[1].choice_index};
    j["preferred"] = f.preferred;
  } else {
    j["completion_id"] = f.completions[0].id;
    j["choice_index"] = f.completions[0].choice_index;
    j["rating"] = f.rating;
    j["preferred_output"] = f.preferred_output ? json(*f.preferred_output) : json(nullptr);
  }
  j["comment"] = or_null(f.comment);
  j["prompt"] = f.completions[0].prompt;
  j["completions"] = completions;
  return j;
}

}  // namespace

void add_feedback_routes(httplib::Server& server, ServerState& state) {
  state.metrics.describe("whet_feedback_total", MetricType::Counter,
                         "Feedback received on completions, by kind (up, down, comparison)");
  add_route(server, state, "POST", "/v1/feedback", "feedback_create", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const Feedback f = state.store.add_feedback(feedback_of(state, parse_feedback_request(json_body(request, state))));
              state.metrics.counter_add("whet_feedback_total", {{"kind", feedback_label(f)}});
              send_json(response, feedback_json(f));
            });
  add_route(server, state, "GET", "/v1/feedback", "feedback_list", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const auto [after, limit] = page(request);
              send_json(response, list_page(listed([&] { return state.store.list_feedback(after, limit + 1); }), limit,
                                            feedback_json));
            });
}

}  // namespace whet::serve
