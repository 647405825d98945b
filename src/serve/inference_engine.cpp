#include "serve/inference_engine.h"

#include <algorithm>
#include <map>
#include <optional>

#include <omp.h>

#include "core/error.h"
#include "generate/sampler.h"
#include "generate/text_stream.h"

namespace whet::serve {

using Clock = std::chrono::steady_clock;

SequenceStream::Update SequenceStream::next() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return finished_ || !pieces_.empty(); });
  Update u;
  if (!pieces_.empty()) {
    u.text = std::move(pieces_.front());
    pieces_.pop_front();
  }
  u.finished = finished_ && pieces_.empty();
  u.finish_reason = finish_reason_;
  u.error = error_;
  u.prompt_tokens = prompt_tokens;
  u.completion_tokens = completion_tokens_;
  u.cached_prompt_tokens = cached_prompt_tokens_;
  return u;
}

void SequenceStream::set_cached_prompt_tokens(int n) {
  std::lock_guard lock(mutex_);
  cached_prompt_tokens_ = n;
}

bool SequenceStream::ended() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

void SequenceStream::append(std::string_view text, int completion_tokens) {
  {
    std::lock_guard lock(mutex_);
    if (!text.empty()) pieces_.emplace_back(text);
    completion_tokens_ = completion_tokens;
  }
  if (!text.empty()) changed_.notify_all();
}

void SequenceStream::finish(const std::string& reason, const std::string& error) {
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
    finish_reason_ = reason;
    error_ = error;
  }
  changed_.notify_all();
}

struct InferenceEngine::Sequence {
  SequenceRequest request;
  std::shared_ptr<SequenceStream> out;
  std::optional<KvCache> cache;  // made when the sequence joins the batch, so waiting costs no memory
  Sampler sampler;
  TextStream text;
  std::vector<int32_t> history;  // prompt and generated tokens, for the repetition penalty
  size_t prompt_fed = 0;
  int32_t next_token = -1;       // sampled, not yet run through the model
  Clock::time_point submitted = Clock::now();
  bool answered = false;         // the first token has been sampled
  bool done = false;             // its stream has been told the end

  Sequence(const LoadedModel& model, SequenceRequest r, std::shared_ptr<SequenceStream> stream)
      : request(std::move(r)),
        out(std::move(stream)),
        sampler(request.options.sampling),
        text(model, request.options.stop),
        history(request.prompt) {}

  // What this step runs: the next chunk of the prompt, or the last sampled token.
  std::span<const int32_t> step_tokens(size_t chunk) const {
    if (prompt_fed < request.prompt.size())
      return std::span(request.prompt).subspan(prompt_fed, std::min(chunk, request.prompt.size() - prompt_fed));
    return std::span(&next_token, 1);
  }
};

void describe_engine_metrics(MetricsRegistry& m) {
  m.describe("whet_time_to_first_token_seconds", MetricType::Histogram,
             "Time from a sequence's arrival to its first generated token, by model", kLatencyBucketsSeconds);
  m.describe("whet_generated_tokens_total", MetricType::Counter, "Tokens generated, by model");
  m.describe("whet_prompt_tokens_total", MetricType::Counter, "Prompt tokens read, by model");
  m.describe("whet_prompt_tokens_cached_total", MetricType::Counter,
             "Prompt tokens copied from an earlier prompt that started the same way instead of read, by model");
  m.describe("whet_generation_tokens_per_second", MetricType::Gauge,
             "Tokens generated per second over the engine's last step, all sequences together");
  m.describe("whet_queue_depth", MetricType::Gauge, "Sequences waiting for a place in the batch, by base model");
  m.describe("whet_active_sequences", MetricType::Gauge, "Sequences being decoded, by base model");
}

InferenceEngine::InferenceEngine(const LoadedModel& model, std::string name, EngineOptions options,
                                 MetricsRegistry& metrics)
    : model_(model),
      name_(std::move(name)),
      options_(options),
      metrics_(metrics),
      prefix_cache_(model.model.config, options.prefix_cache_tokens, options.kv_cache_dtype) {
  thread_ = std::thread([this] { run(); });
}

InferenceEngine::~InferenceEngine() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  idle_work_done_.notify_all();
  thread_.join();
  for (auto& s : queue_) s->out->finish("", "the server is shutting down");
}

std::shared_ptr<SequenceStream> InferenceEngine::submit(SequenceRequest request) {
  auto stream = std::make_shared<SequenceStream>();
  stream->prompt_tokens = int(request.prompt.size());
  WHET_ASSERT(!request.prompt.empty());
  auto sequence = std::make_unique<Sequence>(model_, std::move(request), stream);
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(sequence));
  }
  update_gauges();
  wake_.notify_all();
  return stream;
}

bool InferenceEngine::run_when_idle(const std::function<void()>& work, std::chrono::milliseconds patience) {
  IdleWork item{&work};
  std::unique_lock lock(mutex_);
  if (stopping_) return false;
  idle_work_.push_back(&item);
  wake_.notify_all();
  idle_work_done_.wait_for(lock, patience, [&] { return item.started || stopping_; });
  if (!item.started) {
    std::erase(idle_work_, &item);
    return false;
  }
  idle_work_done_.wait(lock, [&] { return item.done; });
  if (item.error) std::rethrow_exception(item.error);
  return true;
}

InferenceEngine::IdleWork* InferenceEngine::wait_for_work(std::unique_lock<std::mutex>& lock,
                                                          const std::vector<std::unique_ptr<Sequence>>& running) {
  for (;;) {
    if (stopping_ || !queue_.empty() || !running.empty()) return nullptr;
    if (idle_work_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const Clock::time_point free_at = last_busy_ + kIdleGrace;
    if (Clock::now() < free_at) {
      wake_.wait_until(lock, free_at);
      continue;
    }
    IdleWork* item = idle_work_.front();
    idle_work_.pop_front();
    item->started = true;
    return item;
  }
}

void InferenceEngine::run_idle_work(IdleWork& item) {
  std::exception_ptr error;
  try {
    (*item.work)();
  } catch (...) {
    error = std::current_exception();
  }
  {
    std::lock_guard lock(mutex_);
    item.error = error;
    item.done = true;
  }
  idle_work_done_.notify_all();
}

int InferenceEngine::queued() const {
  std::lock_guard lock(mutex_);
  return int(queue_.size());
}

void InferenceEngine::update_gauges() {
  metrics_.gauge_set("whet_queue_depth", {{"base", name_}}, queued());
  metrics_.gauge_set("whet_active_sequences", {{"base", name_}}, active_count_);
}

void InferenceEngine::run() {
  // OpenMP's thread count is per thread: the one set on the main thread does not reach this one.
  if (options_.threads > 0) omp_set_num_threads(options_.threads);
  std::vector<std::unique_ptr<Sequence>> running;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (IdleWork* item = wait_for_work(lock, running)) {
        lock.unlock();
        run_idle_work(*item);
        continue;
      }
      if (stopping_) break;
      while (!queue_.empty() && int(running.size()) < options_.max_batch) {
        running.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      active_count_ = int(running.size());
    }
    std::erase_if(running, [](const auto& s) { return s->out->cancelled(); });
    for (auto& s : running)
      if (!s->cache) admit(*s);
    active_count_ = int(running.size());
    update_gauges();
    if (!running.empty()) step(running);
    std::lock_guard lock(mutex_);
    last_busy_ = Clock::now();
  }
  for (auto& s : running) s->out->finish("", "the server is shutting down");
}

// A sequence joining the batch gets its cache, and the positions of an earlier
// prompt that started the same way.
void InferenceEngine::admit(Sequence& s) {
  s.cache.emplace(model_.model.config, int64_t(s.request.prompt.size()) + s.request.options.max_tokens,
                  options_.kv_cache_dtype);
  s.prompt_fed = size_t(prefix_cache_.reuse(s.request.prompt, s.request.adapter, *s.cache));
  s.out->set_cached_prompt_tokens(int(s.prompt_fed));
  if (s.prompt_fed > 0)
    metrics_.counter_add("whet_prompt_tokens_cached_total", {{"model", s.request.model_name}}, double(s.prompt_fed));
}

// Counts the rows each member just ran; returns the members (their rows of the
// logits) that sample a token now: those whose prompt has been read.
std::vector<size_t> InferenceEngine::account_rows(std::span<Sequence* const> members,
                                                  std::span<const BatchSequence> batch) {
  std::vector<size_t> sampling;
  for (size_t i = 0; i < members.size(); ++i) {
    Sequence& s = *members[i];
    if (s.prompt_fed < s.request.prompt.size()) {
      s.prompt_fed += batch[i].tokens.size();
      metrics_.counter_add("whet_prompt_tokens_total", {{"model", s.request.model_name}}, double(batch[i].tokens.size()));
      if (s.prompt_fed < s.request.prompt.size()) continue;  // more prompt to read first
      prefix_cache_.keep(s.request.prompt, s.request.adapter, *s.cache);
    } else {
      s.history.push_back(s.next_token);
    }
    sampling.push_back(i);
  }
  return sampling;
}

// The sampled token's metrics and final text, and the sequence's end when it has come.
void InferenceEngine::emit_token(Sequence& s) {
  metrics_.counter_add("whet_generated_tokens_total", {{"model", s.request.model_name}});
  if (!s.answered) {
    s.answered = true;
    metrics_.histogram_observe("whet_time_to_first_token_seconds", {{"model", s.request.model_name}},
                               std::chrono::duration<double>(Clock::now() - s.submitted).count());
  }
  const bool going = s.text.push(s.next_token);
  if (going && (int(s.text.tokens().size()) >= s.request.options.max_tokens || s.cache->length >= s.cache->capacity))
    s.text.finish("length");
  s.out->append(s.text.take_final(), int(s.text.tokens().size()));
  if (!s.text.finish_reason().empty()) {
    s.out->finish(s.text.finish_reason());
    s.done = true;
  }
}

void InferenceEngine::step(std::vector<std::unique_ptr<Sequence>>& running) {
  const auto started = Clock::now();
  // Sequences on the same adapter share a forward pass.
  std::map<const LlamaLora*, std::vector<Sequence*>> groups;
  for (auto& s : running) groups[s->request.adapter.get()].push_back(s.get());

  int generated = 0;
  std::vector<float> logits;
  const int64_t vocab = model_.model.config.vocab_size;
  for (auto& [adapter, members] : groups) {
    std::vector<BatchSequence> batch;
    for (Sequence* s : members) batch.push_back({&*s->cache, s->step_tokens(size_t(options_.prefill_chunk))});
    try {
      llama_forward_batch(model_.model, batch, logits, adapter);
    } catch (const Error& e) {
      for (Sequence* s : members) {
        s->out->finish("", e.what());
        s->done = true;
      }
      continue;
    }
    const std::vector<size_t> sampling = account_rows(members, batch);
    // Each sampler reads only its own row. One after the other, they held 1.5%
    // of a 16-client load's samples under perf, on one thread while the other
    // waited (no gain measurable within the noise, docs/performance.md).
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t i : sampling) {
      Sequence& s = *members[i];
      s.next_token = s.sampler.sample(std::span(logits).subspan(i * vocab, vocab), s.history);
    }
    for (size_t i : sampling) emit_token(*members[i]);
    generated += int(sampling.size());
  }
  std::erase_if(running, [](const auto& s) { return s->done || s->out->cancelled(); });
  active_count_ = int(running.size());
  update_gauges();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (generated > 0 && seconds > 0) metrics_.gauge_set("whet_generation_tokens_per_second", {{"base", name_}}, generated / seconds);
}

}  // namespace whet::serve
