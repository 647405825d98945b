#include "serve/drift_monitor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>

#include <fmt/format.h>
#include <omp.h>

#include "core/error.h"
#include "eval/drift_stats.h"
#include "serve/drift_scorer.h"

namespace whet::serve {

namespace {

// Sampled prompts waiting for the scorer at most; more are not sampled until it catches up.
constexpr size_t kMaxPending = 64;
// A share of surprising prompts is judged on at least this many measured prompts.
constexpr int64_t kMinScoredToJudge = 5;

std::map<std::string, std::string> name_value_pairs(const std::vector<std::string>& specs, const char* flag,
                                                    const char* shape) {
  std::map<std::string, std::string> out;
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) fail(flag, "'{}' must be {}", spec, shape);
    out[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  return out;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

struct DriftMonitor::Reference {
  DriftReference profile;
  std::string base;                  // the model whose perplexity is measured
  size_t next = 0;                   // the next prompt of profile.perplexity_sample to measure
  std::vector<double> perplexities;  // of those measured
  std::optional<double> threshold;   // their 95th percentile, once all are measured
};

struct DriftMonitor::Served {
  const LoadedModel* model = nullptr;      // with `adapter`, the version the reference was found for
  std::weak_ptr<const LlamaLora> adapter;
  std::shared_ptr<Reference> reference;    // null: none
  std::string unavailable;                 // why there is none
};

struct DriftMonitor::Window {
  struct Prompt {
    int bin = 0;
    std::vector<int32_t> tokens;
  };
  std::deque<Prompt> prompts;  // newest last
  std::vector<double> length_counts = std::vector<double>(kPromptLengthBins, 0.0);
  std::unordered_map<int32_t, int64_t> token_counts;
  std::deque<double> perplexities;  // of the newest sampled prompts measured, newest last
};

DriftMonitor::DriftMonitor(DriftOptions options, const ModelRegistry& models, JobStore& store,
                           std::vector<std::string> adapter_specs, MetricsRegistry& metrics, int threads)
    : options_(std::move(options)),
      models_(models),
      store_(store),
      explicit_references_(name_value_pairs(options_.references, "--drift-reference", "MODEL=FILE")),
      adapter_dirs_(name_value_pairs(adapter_specs, "--adapter", "NAME=DIR")),
      metrics_(metrics),
      threads_(threads) {
  if (options_.window < 1) fail("--drift-window", "must be at least 1, not {}", options_.window);
  if (options_.min_window < 1 || options_.min_window > options_.window)
    fail("--drift-min-window", "must be between 1 and --drift-window ({}), not {}", options_.window, options_.min_window);
  if (!(options_.sample_rate >= 0 && options_.sample_rate <= 1))
    fail("--drift-sample-rate", "must be in [0, 1], not {}", options_.sample_rate);
  for (const auto& [flag, value] : {std::pair{"--drift-psi", options_.psi_threshold},
                                    {"--drift-js", options_.js_threshold}, {"--drift-surprise", options_.surprise_threshold}})
    if (!(value >= 0)) fail(flag, "must be a threshold of at least 0, not {}", value);
  metrics.describe("whet_drift_psi", MetricType::Gauge,
                   "Population stability index of a feature of the newest prompts against the training prompts, by model");
  metrics.describe("whet_drift_js", MetricType::Gauge,
                   "Jensen-Shannon divergence (bits) of the newest prompts' tokens from the training prompts', by model");
  metrics.describe("whet_surprising_prompt_share", MetricType::Gauge,
                   "Share of sampled prompts whose perplexity under the base exceeds the training prompts' 95th "
                   "percentile, by model");
  metrics.describe("whet_drift_alert", MetricType::Gauge, "1 when a drift measure of the model passed its threshold");
}

DriftMonitor::~DriftMonitor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DriftMonitor::start() {
  sync(true);
  thread_ = std::thread([this] { run(); });
}

void DriftMonitor::run() {
  // OpenMP's thread count is per thread: the scorer uses what the engine uses.
  if (threads_ > 0) omp_set_num_threads(threads_);
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    bool worked = false;
    try {
      sync(false);
      worked = score_one();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "serve: drift monitor: %s\n", e.what());
    }
    if (!worked) {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping_ || !pending_.empty(); });
    }
  }
}

// Finds the reference of every model whose version is new, and forgets models no longer served.
void DriftMonitor::sync(bool at_start) {
  std::set<std::string> names;
  for (const ModelRoute& route : models_.list()) {
    names.insert(route.name);
    {
      std::lock_guard lock(mutex_);
      const auto found = served_.find(route.name);
      if (found != served_.end() && found->second->model == route.model &&
          found->second->adapter.lock() == route.adapter)
        continue;
    }
    auto served = std::make_unique<Served>();
    served->model = route.model;
    served->adapter = route.adapter;
    try {
      const std::optional<ReferenceSource> source = source_of(route);
      if (source) served->reference = reference_for(route, *source);
      else served->unavailable = "no reference: serve the model from its run folder, or name its training data "
                                 "with --drift-reference MODEL=FILE";
    } catch (const std::exception& e) {  // a file system error too: said once, not retried in a loop
      if (at_start && explicit_references_.contains(route.name)) throw;
      served->unavailable = e.what();
      std::fprintf(stderr, "serve: no drift reference for %s: %s\n", route.name.c_str(), e.what());
    }
    std::lock_guard lock(mutex_);
    served_[route.name] = std::move(served);
  }
  std::lock_guard lock(mutex_);
  std::erase_if(served_, [&](const auto& entry) { return !names.contains(entry.first); });
  std::erase_if(windows_, [&](const auto& entry) { return !names.contains(entry.first); });
  std::erase_if(references_, [](const auto& entry) { return entry.second.use_count() == 1; });
}

std::optional<ReferenceSource> DriftMonitor::source_of(const ModelRoute& route) {
  if (const auto found = explicit_references_.find(route.name); found != explicit_references_.end())
    return ReferenceSource{{found->second}, DataFormat::Auto, "--drift-reference"};
  std::string path;
  if (!route.adapter) {
    path = route.model->path;
  } else if (const auto given = adapter_dirs_.find(route.name); given != adapter_dirs_.end()) {
    path = given->second;
  } else {
    for (const AdapterRecord& a : store_.list_adapters())
      if (a.name == route.name) path = a.path;
  }
  if (path.empty()) return std::nullopt;
  return run_folder_training_data(path);
}

// Models trained on the same data over the same base share one profile and one perplexity threshold.
std::shared_ptr<DriftMonitor::Reference> DriftMonitor::reference_for(const ModelRoute& route,
                                                                    const ReferenceSource& source) {
  const std::string key = fmt::format("{}\n{}\n{}", route.base, data_format_name(source.format), joined(source.files));
  {
    std::lock_guard lock(mutex_);
    if (const auto found = references_.find(key); found != references_.end()) return found->second;
  }
  auto reference = std::make_shared<Reference>();
  reference->profile = build_drift_reference(source, *route.model, size_t(options_.reference_sample),
                                             size_t(options_.scored_tokens));
  reference->base = route.base;
  std::lock_guard lock(mutex_);
  return references_.emplace(key, std::move(reference)).first->second;
}

void DriftMonitor::record_prompt(const ModelRoute& model, std::span<const int32_t> prompt) {
  if (prompt.empty()) return;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    auto& slot = windows_[model.name];
    if (!slot) slot = std::make_unique<Window>();
    Window& w = *slot;
    const int bin = prompt_length_bin(int64_t(prompt.size()));
    w.prompts.push_back({bin, std::vector<int32_t>(prompt.begin(), prompt.end())});
    w.length_counts[size_t(bin)] += 1;
    for (int32_t t : prompt) ++w.token_counts[t];
    while (w.prompts.size() > size_t(options_.window)) {
      const Window::Prompt& old = w.prompts.front();
      w.length_counts[size_t(old.bin)] -= 1;
      for (int32_t t : old.tokens)
        if (--w.token_counts[t] == 0) w.token_counts.erase(t);
      w.prompts.pop_front();
    }
    if (options_.sample_rate > 0 && pending_.size() < kMaxPending &&
        std::uniform_real_distribution<double>(0, 1)(rng_) < options_.sample_rate) {
      const size_t kept = std::min(prompt.size(), size_t(options_.scored_tokens));
      pending_.push_back({model.name, model.base, std::vector<int32_t>(prompt.begin(), prompt.begin() + ptrdiff_t(kept))});
      wake = true;
    }
    wake = wake || !served_.contains(model.name);  // a model loaded since the last look
  }
  if (wake) wake_.notify_all();
}

bool DriftMonitor::run_when_idle(const std::string& base, const std::function<void()>& work) {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
    }
    const std::optional<ModelRoute> route = models_.find(base);
    if (!route) return false;
    if (route->engine->run_when_idle(work, std::chrono::milliseconds(100))) return true;
  }
}

// Measures one prompt: a training prompt of a reference still without its
// threshold first (production prompts are judged against it), else a sampled
// production prompt. False when there was nothing to measure.
bool DriftMonitor::score_one() {
  std::shared_ptr<Reference> reference;
  Pending production;
  std::span<const int32_t> tokens;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, r] : references_)
      if (!r->threshold && r->next < r->profile.perplexity_sample.size()) {
        reference = r;
        break;
      }
    if (reference) {
      tokens = reference->profile.perplexity_sample[reference->next];  // the sample never changes once built
    } else {
      if (pending_.empty()) return false;
      production = std::move(pending_.front());
      pending_.pop_front();
      tokens = production.tokens;
    }
  }
  const std::string base = reference ? reference->base : production.base;
  const std::optional<ModelRoute> route = models_.find(base);
  if (!route) return true;
  const std::optional<double> perplexity = prompt_perplexity(
      *route->model, tokens, [&](const std::function<void()>& chunk) { return run_when_idle(base, chunk); });
  std::lock_guard lock(mutex_);
  if (reference) {
    if (perplexity) reference->perplexities.push_back(*perplexity);
    if (++reference->next == reference->profile.perplexity_sample.size() && !reference->perplexities.empty())
      reference->threshold = quantile(reference->perplexities, 0.95);
  } else if (const auto w = windows_.find(production.model); perplexity && w != windows_.end()) {
    // The measured prompts span about as many requests as the window: window × sample rate of them.
    const size_t keep = size_t(std::max<double>(double(kMinScoredToJudge), std::ceil(options_.window * options_.sample_rate)));
    w->second->perplexities.push_back(*perplexity);
    while (w->second->perplexities.size() > keep) w->second->perplexities.pop_front();
  }
  return true;
}

DriftReport DriftMonitor::drift_of(const Reference& reference, const Window& window) const {
  const DriftReference& profile = reference.profile;
  DriftReport r;
  r.window = int64_t(window.prompts.size());
  r.reference_prompts = int64_t(profile.prompts);
  r.reference = fmt::format("{} ({})", joined(profile.source.files), profile.source.origin);
  r.psi_prompt_length = population_stability_index(profile.length_counts, window.length_counts);
  r.js_tokens = jensen_shannon_divergence(profile.token_counts, token_bucket_counts(window.token_counts, profile.top_tokens));
  r.perplexity_threshold = reference.threshold;
  r.scored = int64_t(window.perplexities.size());
  if (reference.threshold && r.scored > 0)
    r.surprising_share = double(std::count_if(window.perplexities.begin(), window.perplexities.end(),
                                              [&](double p) { return p > *reference.threshold; })) /
                         double(r.scored);
  r.judged = r.window >= options_.min_window;
  if (!r.judged) return r;
  if (r.psi_prompt_length > options_.psi_threshold)
    r.reasons.push_back(fmt::format("psi_prompt_length {:.3f} > {}", r.psi_prompt_length, options_.psi_threshold));
  if (r.js_tokens > options_.js_threshold)
    r.reasons.push_back(fmt::format("js_tokens {:.3f} > {}", r.js_tokens, options_.js_threshold));
  const int64_t min_scored =
      std::max<int64_t>(kMinScoredToJudge, int64_t(std::ceil(options_.min_window * options_.sample_rate)));
  if (r.surprising_share && r.scored >= min_scored && *r.surprising_share > options_.surprise_threshold)
    r.reasons.push_back(fmt::format("surprising_share {:.3f} > {}", *r.surprising_share, options_.surprise_threshold));
  r.alert = !r.reasons.empty();
  return r;
}

std::vector<ModelDrift> DriftMonitor::report() {
  std::vector<ModelDrift> out;
  const Window empty;
  for (const ModelRoute& route : models_.list()) {
    ModelDrift d{route.name, route.base, std::nullopt, ""};
    std::lock_guard lock(mutex_);
    const auto served = served_.find(route.name);
    if (served == served_.end()) {
      d.unavailable = "the model was loaded a moment ago; its reference is being read";
    } else if (!served->second->reference) {
      d.unavailable = served->second->unavailable;
    } else {
      const auto window = windows_.find(route.name);
      d.drift = drift_of(*served->second->reference, window == windows_.end() ? empty : *window->second);
    }
    out.push_back(std::move(d));
  }
  return out;
}

void DriftMonitor::set_gauges(const std::vector<ModelDrift>& drift) {
  auto set_or_remove = [&](const char* name, const Labels& labels, std::optional<double> value) {
    if (value && std::isfinite(*value)) metrics_.gauge_set(name, labels, *value);
    else metrics_.remove(name, labels);
  };
  std::vector<std::string> gauged;
  for (const ModelDrift& d : drift) {
    const Labels model = {{"model", d.model}};
    const auto& r = d.drift;
    set_or_remove("whet_drift_psi", {{"model", d.model}, {"feature", "prompt_length"}},
                  r ? std::optional(r->psi_prompt_length) : std::nullopt);
    set_or_remove("whet_drift_js", model, r ? std::optional(r->js_tokens) : std::nullopt);
    set_or_remove("whet_surprising_prompt_share", model, r ? r->surprising_share : std::nullopt);
    set_or_remove("whet_drift_alert", model, r ? std::optional(r->alert ? 1.0 : 0.0) : std::nullopt);
    gauged.push_back(d.model);
  }
  std::lock_guard lock(mutex_);
  for (const std::string& gone : gauged_)
    if (std::find(gauged.begin(), gauged.end(), gone) == gauged.end()) {
      metrics_.remove("whet_drift_psi", {{"model", gone}, {"feature", "prompt_length"}});
      for (const char* name : {"whet_drift_js", "whet_surprising_prompt_share", "whet_drift_alert"})
        metrics_.remove(name, {{"model", gone}});
    }
  gauged_ = std::move(gauged);
}

}  // namespace whet::serve
