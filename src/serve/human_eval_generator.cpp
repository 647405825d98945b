#include "serve/human_eval_generator.h"

#include <cstdio>
#include <set>

#include "core/error.h"
#include "generate/prompt.h"

namespace whet::serve {

namespace {

using nlohmann::json;

// Answers submitted at once: enough to fill a batch of the engine, few enough
// that the server's own requests are not queued behind a whole session, and
// that a stopping server waits for little.
constexpr size_t kInFlight = 8;

struct Pending {
  int64_t prompt_index;
  std::string model;
  std::shared_ptr<SequenceStream> stream;
};

// Waits for the answer; the engine's failure is an error naming the model.
HumanEvalAnswer collect(const Pending& p) {
  HumanEvalAnswer answer{p.prompt_index, p.model, "", ""};
  SequenceStream::Update u;
  do {
    u = p.stream->next();
    answer.text += u.text;
  } while (!u.finished);
  if (!u.error.empty()) fail("human evaluation", "{} on prompt {}: {}", p.model, p.prompt_index + 1, u.error);
  answer.finish_reason = u.finish_reason;
  return answer;
}

}  // namespace

json stored_prompt(const TaskItem& item) {
  if (item.messages.empty()) return item.prompt;
  json messages = json::array();
  for (const ChatMessage& m : item.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  return messages;
}

std::vector<int32_t> prompt_tokens(const LoadedModel& model, const json& prompt) {
  if (prompt.is_string()) return model.tokenizer.encode(prompt.get<std::string>());
  std::vector<ChatMessage> messages;
  for (const json& m : prompt) messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
  return chat_prompt_tokens(model, messages);
}

HumanEvalGenerator::HumanEvalGenerator(JobStore& store, FindModel find_model)
    : store_(store), find_model_(std::move(find_model)) {
  for (const std::string& id : store_.generating_human_eval_sessions()) queue_.push_back(id);
  thread_ = std::thread([this] { run(); });
}

HumanEvalGenerator::~HumanEvalGenerator() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void HumanEvalGenerator::start(const std::string& session_id) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(session_id);
  }
  wake_.notify_all();
}

void HumanEvalGenerator::run() {
  for (;;) {
    std::string id;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      id = queue_.front();
      queue_.pop_front();
    }
    try {
      const auto session = store_.get_human_eval_session(id);
      if (!session || session->status != "generating") continue;
      if (generate(*session)) store_.set_human_eval_status(id, "ready");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "serve: human evaluation %s failed: %s\n", id.c_str(), e.what());
      try {
        store_.set_human_eval_status(id, "failed", e.what());
      } catch (const std::exception& again) {
        std::fprintf(stderr, "serve: human evaluation %s: %s\n", id.c_str(), again.what());
      }
    }
  }
}

bool HumanEvalGenerator::generate(const HumanEvalSession& session) {
  std::set<std::pair<int64_t, std::string>> done;
  for (const HumanEvalAnswer& a : store_.human_eval_answers(session.id)) done.emplace(a.prompt_index, a.model);
  std::deque<Pending> in_flight;
  auto store_oldest = [&] {
    store_.add_human_eval_answer(session.id, collect(in_flight.front()));
    in_flight.pop_front();
  };
  // If anything fails, what is in flight must still end before its streams are dropped.
  struct Drain {
    std::deque<Pending>& pending;
    ~Drain() {
      for (Pending& p : pending) p.stream->cancel();
    }
  } drain{in_flight};

  for (const HumanEvalPrompt& prompt : store_.human_eval_prompts(session.id)) {
    for (const std::string& name : session.models) {
      if (done.contains({prompt.index, name})) continue;
      {
        std::lock_guard lock(mutex_);
        if (stopping_) {
          while (!in_flight.empty()) store_oldest();
          return false;
        }
      }
      const auto route = find_model_(name);
      if (!route) fail("human evaluation", "the model '{}' is no longer served", name);
      const std::vector<int32_t> tokens = prompt_tokens(*route->model, prompt.prompt);
      const int room = usable_context(route->model->model.config) - int(tokens.size());
      if (room < 1)
        fail("human evaluation", "line {}: the prompt's {} tokens fill {}'s context", prompt.line, tokens.size(), name);
      SequenceRequest request{tokens, route->adapter, name, {}};
      request.options.max_tokens = std::min(session.max_tokens, room);
      request.options.sampling.temperature = float(session.temperature);
      // One seed per prompt: with sampling on, every model draws from the same stream.
      request.options.sampling.seed = session.seed + uint64_t(prompt.index);
      in_flight.push_back({prompt.index, name, route->engine->submit(std::move(request))});
      if (in_flight.size() >= kInFlight) store_oldest();
    }
  }
  while (!in_flight.empty()) store_oldest();
  return true;
}

}  // namespace whet::serve
