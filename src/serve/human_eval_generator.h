#pragma once
// The answers of a human evaluation session, made in the background: every
// model's answer to every prompt, through the served models' inference engines
// (so they batch with the server's other requests), each stored as it ends.
// Sessions are taken one at a time, oldest first; a session whose model has
// gone, or whose engine fails, is marked failed with the reason. A server
// stopped mid-session keeps the answers it stored and makes the rest at its next start.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "eval/task.h"
#include "serve/job_store.h"
#include "serve/model_registry.h"

namespace whet::serve {

// A task item's prompt as a session stores it: a string (raw text) or the messages.
nlohmann::json stored_prompt(const TaskItem& item);
// The tokens `model` is given for a stored prompt: raw text as it is, messages through the chat template.
std::vector<int32_t> prompt_tokens(const LoadedModel& model, const nlohmann::json& prompt);

class HumanEvalGenerator {
 public:
  // The route a session's model name gives now (a served name, or a models:/
  // URI the server resolves); nullopt when nothing by that name is served.
  using FindModel = std::function<std::optional<ModelRoute>(const std::string& name)>;

  // Takes up the sessions a previous run left generating.
  HumanEvalGenerator(JobStore& store, FindModel find_model);
  // Submits nothing more and waits for the answers in flight (at most a batch), which are stored.
  ~HumanEvalGenerator();
  HumanEvalGenerator(const HumanEvalGenerator&) = delete;
  HumanEvalGenerator& operator=(const HumanEvalGenerator&) = delete;

  void start(const std::string& session_id);

 private:
  void run();
  // Returns false when stopped before the session's last answer.
  bool generate(const HumanEvalSession& session);

  JobStore& store_;
  FindModel find_model_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace whet::serve
