#pragma once
// The server's decoder: one thread owns the model's forward passes and runs
// every sequence in flight together, one step at a time (continuous batching).
// New requests join between steps; a long prompt is fed in chunks so that the
// sequences already answering keep streaming while it is read. Sequences that
// use the same adapter share one forward pass; the weights are read once for them.
#include <chrono>
#include <condition_variable>
#include <atomic>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "generate/generator.h"
#include "models/model_loader.h"
#include "serve/prometheus.h"
#include "serve/prompt_prefix_cache.h"

namespace whet::serve {

struct EngineOptions {
  // Sequences decoded together; more wait in the queue. 16: on the default model with
  // AMX tiles, 16 sequences stepped together gave 1.5x the tokens/s of 8 (whet bench
  // batch); on the fused dots about the same as 8, each step twice as long.
  int max_batch = 16;
  int prefill_chunk = 256;  // prompt tokens of one sequence per step
  int threads = 0;          // OpenMP threads of the engine's forward passes; 0: the runtime's default
  DType kv_cache_dtype = DType::F16;  // KvCache's F16 or F32
  // Positions of recent prompts kept for new prompts that start the same way
  // (PromptPrefixCache); 0: none. 4096 of the default model in f16: 189 MB.
  int64_t prefix_cache_tokens = 4096;
};

struct SequenceRequest {
  std::vector<int32_t> prompt;
  std::shared_ptr<const LlamaLora> adapter;  // null: the base model
  std::string model_name;                    // as the client named it, for metrics
  GenerationOptions options;
};

// One sequence's answer as it is produced: written by the engine thread, read
// by the HTTP handler that waits on it. Thread-safe.
class SequenceStream {
 public:
  struct Update {
    std::string text;            // the next piece of final text: one decode step's worth
    bool finished = false;
    std::string finish_reason;   // "stop" or "length" when finished
    std::string error;           // set when the engine failed on this sequence
    int prompt_tokens = 0, completion_tokens = 0;
    int cached_prompt_tokens = 0;  // copied from an earlier prompt (PromptPrefixCache), not read
  };
  // Waits for the next piece of text or the end. Pieces are handed out one by
  // one as the engine appended them, never merged, so a stream carries one
  // event per decoded token however slowly its reader keeps up, as OpenAI's do.
  Update next();
  // The reader has gone (client disconnected): the engine drops the sequence at its next step.
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }
  // The engine has told the end (pieces may still wait for the reader).
  bool ended() const;

  // Engine side.
  void append(std::string_view text, int completion_tokens);
  void finish(const std::string& reason, const std::string& error = "");
  void set_cached_prompt_tokens(int n);
  int prompt_tokens = 0;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> pieces_;
  int completion_tokens_ = 0, cached_prompt_tokens_ = 0;
  bool finished_ = false;
  std::string finish_reason_, error_;
  std::atomic<bool> cancelled_{false};
};

class InferenceEngine {
 public:
  // `name` labels the engine's metrics.
  InferenceEngine(const LoadedModel& model, std::string name, EngineOptions options, MetricsRegistry& metrics);
  ~InferenceEngine();  // finishes nothing further: sequences still running end with an error
  InferenceEngine(const InferenceEngine&) = delete;
  InferenceEngine& operator=(const InferenceEngine&) = delete;

  std::shared_ptr<SequenceStream> submit(SequenceRequest request);
  // Low-priority work on the same weights (the drift monitor's scoring, a chunk
  // at a time), run on the engine's own thread once nothing has been waiting or
  // decoding for kIdleGrace. So it never runs beside a step, nor on an OpenMP
  // team of its own: with more threads than cores libgomp stops spinning at its
  // barriers, and every later step waits on wake-ups (measured twice as slow).
  // True once `work` ran (rethrowing what it threw); false when it had not
  // started within `patience` (the engine busy, or stopping).
  bool run_when_idle(const std::function<void()>& work, std::chrono::milliseconds patience);

 private:
  // Clients often send their next request right after an answer: an engine idle
  // for less than this is not yet free for low-priority work.
  static constexpr std::chrono::milliseconds kIdleGrace{50};
  struct IdleWork {
    const std::function<void()>* work;
    bool started = false, done = false;
    std::exception_ptr error;
  };
  int queued() const;
  struct Sequence;
  void run();
  void admit(Sequence& s);
  std::vector<size_t> account_rows(std::span<Sequence* const> members, std::span<const BatchSequence> batch);
  void emit_token(Sequence& s);
  // Under mutex_: waits for sequences to step, or for idle work whose time has come (returned).
  IdleWork* wait_for_work(std::unique_lock<std::mutex>& lock, const std::vector<std::unique_ptr<Sequence>>& running);
  void run_idle_work(IdleWork& item);
  void step(std::vector<std::unique_ptr<Sequence>>& running);
  void update_gauges();

  const LoadedModel& model_;
  std::string name_;
  EngineOptions options_;
  MetricsRegistry& metrics_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Sequence>> queue_;
  PromptPrefixCache prefix_cache_;  // the engine thread's only
  std::deque<IdleWork*> idle_work_;  // under mutex_, as are the items' flags
  std::condition_variable idle_work_done_;
  std::chrono::steady_clock::time_point last_busy_;  // under mutex_: the end of the latest step
  std::atomic<int> active_count_{0};
  bool stopping_ = false;
  std::thread thread_;
};

// Registers the engine's metric families on `metrics` (once per registry).
void describe_engine_metrics(MetricsRegistry& metrics);

}  // namespace whet::serve
