// POST /v1/chat/completions, POST /v1/completions, GET /v1/models: the calls
// OpenAI's client libraries make, answered whole or streamed as server-sent events.
#include <cstdio>
#include <ctime>

#include "core/error.h"
#include "generate/prompt.h"
#include "serve/api_error.h"
#include "serve/completion_request.h"
#include "serve/server_state.h"

namespace whet::serve {

namespace {

using nlohmann::json;

json model_json(const ModelRoute& m) {
  json j = {{"id", m.name}, {"object", "model"}, {"created", m.created_at}, {"owned_by", "whet"}};
  if (m.adapter) {
    j["parent"] = m.base;
    j["root"] = m.base;
  }
  if (!m.gate_failure.empty()) j["gate_failure"] = m.gate_failure;
  return j;
}

ModelRoute served_model(const ServerState& state, const std::string& name) {
  // A models:/ name is resolved at every request, so a promotion changes what the next one gets.
  auto route = find_served_model(state.models, state.registry, name);
  if (!route)
    throw ApiError(404, "invalid_request_error", fmt::format("The model '{}' does not exist", name), "model",
                   "model_not_found");
  return *route;
}

void check_gate(const ServerState& state, const ModelRoute& route) {
  if (!route.gate_failure.empty() && !state.options.allow_gated)
    throw ApiError(403, "invalid_request_error",
                   fmt::format("The model '{}' failed the forgetting gate of its training run ({}); it is not "
                               "served unless the server runs with --allow-gated", route.name, route.gate_failure),
                   "model", "model_gated");
}


// One request's answer: n sequences decoding in the engine, and how to word them.
struct Answer {
  CompletionRequest request;
  ModelRoute model;
  std::string id;
  int64_t created = std::time(nullptr);
  std::vector<std::shared_ptr<SequenceStream>> choices;
  int prompt_tokens = 0;

  const char* object(bool chunk) const {
    return request.chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
  }
  json envelope(bool chunk) const {
    return {{"id", id}, {"object", object(chunk)}, {"created", created}, {"model", request.model},
            {"system_fingerprint", nullptr}};
  }
  // A choice carrying `text`: a message (whole answer), a delta (stream chunk) or completion text.
  json choice(size_t index, const std::string& text, const json& finish_reason, bool chunk, bool first) const {
    json c = {{"index", index}, {"finish_reason", finish_reason}, {"logprobs", nullptr}};
    if (!request.chat) {
      c["text"] = text;
    } else if (chunk) {
      c["delta"] = first ? json{{"role", "assistant"}, {"content", text}} : json{{"content", text}};
      if (!finish_reason.is_null() && text.empty()) c["delta"] = json::object();
    } else {
      c["message"] = {{"role", "assistant"}, {"content", text}, {"refusal", nullptr}};
    }
    return c;
  }
  // cached_tokens: the first choice's prompt positions copied from an earlier
  // prompt (the server's prefix cache), as OpenAI reports its prompt caching.
  json usage(int completion_tokens, int cached_tokens) const {
    return {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", prompt_tokens + completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", cached_tokens}}}};
  }
  // The prompt as feedback records it: the messages of a chat, the text of a completion.
  json prompt_json() const {
    if (!request.chat) return request.prompt;
    json messages = json::array();
    for (const ChatMessage& m : request.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
    return messages;
  }
};

// Every answer delivered in full, whole or streamed, is kept so that feedback can name it
// (POST /v1/feedback). The client has its answer either way: a store that
// cannot write is reported on stderr, and feedback on that answer is a 404 later.
void remember(ServerState& state, const Answer& answer, const std::vector<std::string>& texts) {
  std::vector<StoredCompletion> choices;
  for (size_t i = 0; i < texts.size(); ++i)
    choices.push_back({answer.id, int64_t(i), answer.request.model, answer.prompt_json(), texts[i], answer.created});
  try {
    state.store.add_completions(choices, state.options.max_stored_completions);
  } catch (const Error& e) {
    std::fprintf(stderr, "serve: completion %s not kept for feedback: %s\n", answer.id.c_str(), e.what());
  }
}

std::shared_ptr<Answer> start_answer(ServerState& state, const httplib::Request& http, bool chat) {
  auto answer = std::make_shared<Answer>();
  answer->request = parse_completion_request(json_body(http, state),
                                             chat, {state.options.max_tokens, state.options.max_n});
  CompletionRequest& r = answer->request;
  answer->model = served_model(state, r.model);
  count_as_model_traffic(answer->model.name);  // a refusal from here on is an error of this model
  check_gate(state, answer->model);
  const LoadedModel& model = *answer->model.model;
  std::vector<int32_t> prompt;
  try {
    prompt = chat ? chat_prompt_tokens(model, r.messages) : model.tokenizer.encode(r.prompt);
  } catch (const Error& e) {
    throw invalid_request(e.what(), chat ? "messages" : "prompt");
  }
  if (prompt.empty()) throw invalid_request("the prompt has no tokens", chat ? "messages" : "prompt");
  const int context = usable_context(model.model.config);
  const int prompt_tokens = int(prompt.size());
  if (prompt_tokens >= context || (r.max_tokens_given && prompt_tokens + r.generation.max_tokens > context))
    throw invalid_request(
        fmt::format("This model's maximum context length is {} tokens. However, you requested {} tokens ({} in the "
                    "prompt, {} for the completion). Please reduce the prompt or the completion length.",
                    context, prompt_tokens + (r.max_tokens_given ? r.generation.max_tokens : 0), prompt_tokens,
                    r.max_tokens_given ? r.generation.max_tokens : 0),
        r.max_tokens_given ? "max_tokens" : (chat ? "messages" : "prompt"), "context_length_exceeded");
  r.generation.max_tokens = std::min(r.generation.max_tokens, context - prompt_tokens);
  state.monitor.record_prompt(answer->model, prompt);

  answer->id = random_id(chat ? "chatcmpl" : "cmpl");
  answer->prompt_tokens = prompt_tokens;
  for (int i = 0; i < r.n; ++i) {
    SequenceRequest sequence{prompt, answer->model.adapter, r.model, r.generation};
    sequence.options.sampling.seed = r.generation.sampling.seed + uint64_t(i);
    answer->choices.push_back(answer->model.engine->submit(std::move(sequence)));
  }
  return answer;
}

void answer_whole(ServerState& state, const Answer& answer, httplib::Response& response) {
  json out = answer.envelope(false);
  out["choices"] = json::array();
  int completion_tokens = 0, cached_tokens = 0;
  std::vector<std::string> texts;
  for (size_t i = 0; i < answer.choices.size(); ++i) {
    std::string text;
    SequenceStream::Update u;
    do {
      u = answer.choices[i]->next();
      text += u.text;
    } while (!u.finished);
    if (!u.error.empty()) throw ApiError(500, "server_error", u.error);
    completion_tokens += u.completion_tokens;
    if (i == 0) cached_tokens = u.cached_prompt_tokens;
    out["choices"].push_back(answer.choice(i, answer.request.echo ? answer.request.prompt + text : text,
                                           u.finish_reason, false, true));
    texts.push_back(std::move(text));
  }
  out["usage"] = answer.usage(completion_tokens, cached_tokens);
  remember(state, answer, texts);
  send_json(response, out);
}

// Kept for feedback once the last choice has ended, before [DONE]: a client
// that saw [DONE] may name the completion at once.
void answer_streamed(ServerState& state, std::shared_ptr<Answer> answer, httplib::Response& response) {
  struct Progress {
    size_t choice = 0;
    bool started = false;
    int completion_tokens = 0, cached_tokens = 0;
    std::vector<std::string> texts;  // each choice's answer so far
  };
  auto progress = std::make_shared<Progress>();
  progress->texts.resize(answer->choices.size());
  auto event = [](httplib::DataSink& sink, const json& data) {
    const std::string text = "data: " + json_text(data) + "\n\n";
    return sink.write(text.data(), text.size());
  };
  response.set_chunked_content_provider(
      "text/event-stream",
      [&state, answer, progress, event](size_t, httplib::DataSink& sink) {
        if (progress->choice == answer->choices.size()) {
          remember(state, *answer, progress->texts);
          if (answer->request.include_usage) {
            json last = answer->envelope(true);
            last["choices"] = json::array();
            last["usage"] = answer->usage(progress->completion_tokens, progress->cached_tokens);
            if (!event(sink, last)) return false;
          }
          const std::string done = "data: [DONE]\n\n";
          sink.write(done.data(), done.size());
          sink.done();
          return true;
        }
        const size_t index = progress->choice;
        const SequenceStream::Update u = answer->choices[index]->next();
        json chunk = answer->envelope(true);
        if (!u.error.empty()) {
          // Headers are gone already; the error travels as an event, as OpenAI's streams carry them.
          count_as_failed();
          const bool ok = event(sink, error_json(ApiError(500, "server_error", u.error)));
          sink.done();
          return ok;
        }
        progress->texts[index] += u.text;
        std::string text = u.text;
        if (!progress->started && answer->request.echo) text = answer->request.prompt + text;
        if (!text.empty() || !progress->started) {
          chunk["choices"] = {answer->choice(index, text, nullptr, true, !progress->started)};
          if (!event(sink, chunk)) return false;
          progress->started = true;
        }
        if (u.finished) {
          chunk["choices"] = {answer->choice(index, "", u.finish_reason, true, false)};
          if (!event(sink, chunk)) return false;
          progress->completion_tokens += u.completion_tokens;
          if (index == 0) progress->cached_tokens = u.cached_prompt_tokens;
          ++progress->choice;
          progress->started = false;
        }
        return true;
      },
      [answer](bool) {
        // Finished or abandoned by the client: either way nothing more is wanted.
        for (auto& c : answer->choices) c->cancel();
      });
}

}  // namespace

ModelRoute request_model_route(const ServerState& state, const std::string& name) {
  ModelRoute route = served_model(state, name);
  check_gate(state, route);
  return route;
}

void add_inference_routes(httplib::Server& server, ServerState& state) {
  for (const bool chat : {true, false}) {
    add_route(server, state, "POST", chat ? "/v1/chat/completions" : "/v1/completions",
              chat ? "chat_completions" : "completions", Access::Inference,
              [&state, chat](const httplib::Request& request, httplib::Response& response) {
                auto answer = start_answer(state, request, chat);
                if (answer->request.stream) {
                  answer_streamed(state, answer, response);
                } else {
                  struct CancelOnExit {  // a failed or abandoned answer must not keep decoding
                    Answer& a;
                    ~CancelOnExit() {
                      for (auto& c : a.choices) c->cancel();
                    }
                  } guard{*answer};
                  answer_whole(state, *answer, response);
                }
              });
  }
  add_route(server, state, "GET", "/v1/models", "models", Access::Inference,
            [&state](const httplib::Request&, httplib::Response& response) {
              json data = json::array();
              for (const ModelRoute& m : state.models.list()) data.push_back(model_json(m));
              for (const json& entry : registered_alias_entries(state)) data.push_back(entry);
              send_json(response, {{"object", "list"}, {"data", data}});
            });
  add_route(server, state, "GET", R"(/v1/models/(.+))", "model", Access::Inference,
            [&state](const httplib::Request& request, httplib::Response& response) {
              send_json(response, model_json(request_model_route(state, request.matches[1].str())));
            });
}

}  // namespace whet::serve
