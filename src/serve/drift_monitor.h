#pragma once
// Drift of production prompts away from the training prompts of the served
// version, per model (a base or an adapter, by name):
//  - each request's prompt enters its model's window of the newest N prompts
//    (a histogram update under a mutex, in the request's path);
//  - a background thread finds each served model's reference (its
//    --drift-reference, or the run folder it was trained in; serve/drift_reference.h)
//    when it is loaded, and, only while the engine has nothing to do, scores a
//    sample of the training prompts and of the production prompts for perplexity
//    under the base (serve/drift_scorer.h);
//  - report() compares the window with the reference: PSI of prompt lengths, JS
//    divergence of token distributions, the share of sampled prompts above the
//    training prompts' 95th percentile of perplexity, each against its threshold.
// docs/serve.md, "Monitoring and drift", defines them for users.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "serve/drift_options.h"
#include "serve/drift_reference.h"
#include "serve/job_store.h"
#include "serve/model_registry.h"
#include "serve/prometheus.h"

namespace whet::serve {

struct DriftReport {
  int64_t window = 0;             // production prompts in the window
  int64_t reference_prompts = 0;  // training prompts profiled
  std::string reference;          // where they came from: the files, and the run config or flag that named them
  double psi_prompt_length = 0;   // NaN while the window is empty
  double js_tokens = 0;
  std::optional<double> surprising_share;  // none until the threshold and a scored prompt exist
  std::optional<double> perplexity_threshold;  // the training prompts' 95th percentile
  int64_t scored = 0;             // sampled production prompts measured (the newest `window` count)
  bool judged = false;            // the window has min_window prompts
  bool alert = false;
  std::vector<std::string> reasons;  // "psi_prompt_length 0.43 > 0.2", ...
};

struct ModelDrift {
  std::string model, base;
  std::optional<DriftReport> drift;  // none: no reference
  std::string unavailable;           // why there is none
};

class DriftMonitor {
 public:
  // `adapter_specs` are the server's --adapter NAME=DIR, whose folders may be run folders.
  DriftMonitor(DriftOptions options, const ModelRegistry& models, JobStore& store,
               std::vector<std::string> adapter_specs, MetricsRegistry& metrics, int threads);
  ~DriftMonitor();
  DriftMonitor(const DriftMonitor&) = delete;
  DriftMonitor& operator=(const DriftMonitor&) = delete;

  // Profiles the references of the models served now, on the calling thread (a
  // --drift-reference that cannot be read is a whet::Error here, before the
  // server listens), then watches for models loaded later in the background.
  void start();

  // A prompt `model` is about to answer: into its window, and maybe into the scorer's sample.
  void record_prompt(const ModelRoute& model, std::span<const int32_t> prompt);

  // Every served model, bases first, then adapters.
  std::vector<ModelDrift> report();
  // The drift gauges of report() into the metrics registry (for GET /metrics).
  void set_gauges(const std::vector<ModelDrift>& drift);

 private:
  struct Reference;   // a profile shared by the models trained on the same data
  struct Served;      // the reference in force for one model
  struct Window;      // one model's newest prompts
  struct Pending {    // a sampled production prompt waiting to be scored
    std::string model, base;
    std::vector<int32_t> tokens;
  };

  void run();
  void sync(bool at_start);
  std::optional<ReferenceSource> source_of(const ModelRoute& route);
  std::shared_ptr<Reference> reference_for(const ModelRoute& route, const ReferenceSource& source);
  bool score_one();
  bool run_when_idle(const std::string& base, const std::function<void()>& work);
  DriftReport drift_of(const Reference& reference, const Window& window) const;

  DriftOptions options_;
  const ModelRegistry& models_;
  JobStore& store_;
  std::map<std::string, std::string> explicit_references_;  // model -> file
  std::map<std::string, std::string> adapter_dirs_;         // --adapter NAME -> DIR
  MetricsRegistry& metrics_;
  int threads_;

  std::mutex mutex_;  // everything below
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<std::string, std::unique_ptr<Served>> served_;
  std::map<std::string, std::unique_ptr<Window>> windows_;
  std::map<std::string, std::shared_ptr<Reference>> references_;  // by base and source files
  std::deque<Pending> pending_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::vector<std::string> gauged_;  // models whose drift gauges are set
  std::thread thread_;
};

}  // namespace whet::serve
