// POST /v1/score: a reward model's score of each text, conversation or answer
// after its prompt (serve/score_request.h). OpenAI's API has no such endpoint;
// the answer takes the shape of its embeddings list:
//   {"object": "list", "model": NAME, "data": [{"object": "score", "index": i, "score": x}, ...],
//    "usage": {"prompt_tokens": n, "total_tokens": n}}
#include "serve/score_request.h"
#include "serve/server_state.h"

namespace whet::serve {

namespace {

// Far above a batch anyone scores at once, below what would hold the model for minutes.
constexpr size_t kMaxScoreInputs = 256;

nlohmann::json score_json(const ScoreRequest& request, const ScoreResult& result) {
  nlohmann::json data = nlohmann::json::array();
  for (size_t i = 0; i < result.scores.size(); ++i)
    data.push_back({{"object", "score"}, {"index", i}, {"score", result.scores[i]}});
  return {{"object", "list"}, {"model", request.model}, {"data", data},
          {"usage", {{"prompt_tokens", result.tokens}, {"total_tokens", result.tokens}}}};
}

}  // namespace

void add_score_routes(httplib::Server& server, ServerState& state) {
  add_route(server, state, "POST", "/v1/score", "score", Access::Inference,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const ScoreRequest parsed = parse_score_request(json_body(request, state), kMaxScoreInputs);
              send_json(response, score_json(parsed, state.rewards.score(parsed)));
            });
}

}  // namespace whet::serve
