#include "serve/traffic.h"

#include <cmath>
#include <vector>

#include "eval/drift_stats.h"

namespace whet::serve {

TrafficStats::TrafficStats(MetricsRegistry& metrics) : metrics_(metrics) {
  metrics.describe("whet_model_requests_total", MetricType::Counter,
                   "Completion requests that named a served model (base or adapter), by model");
  metrics.describe("whet_model_errors_total", MetricType::Counter,
                   "Completion requests by model answered with an error, or whose stream carried one");
  metrics.describe("whet_model_request_duration_seconds", MetricType::Histogram,
                   "Time from a completion request's arrival to the end of its response, by model",
                   kLatencyBucketsSeconds);
}

void TrafficStats::record(const std::string& model, double seconds, bool failed) {
  metrics_.counter_add("whet_model_requests_total", {{"model", model}});
  if (failed) metrics_.counter_add("whet_model_errors_total", {{"model", model}});
  metrics_.histogram_observe("whet_model_request_duration_seconds", {{"model", model}}, seconds);
  std::lock_guard lock(mutex_);
  Counts& c = models_[model];
  ++c.requests;
  c.errors += failed ? 1 : 0;
  c.latencies.push_back(seconds);
  if (c.latencies.size() > kLatencyWindow) c.latencies.pop_front();
}

ModelTraffic TrafficStats::of(const std::string& model) const {
  ModelTraffic t;
  t.prompt_tokens = int64_t(metrics_.value("whet_prompt_tokens_total", {{"model", model}}));
  t.completion_tokens = int64_t(metrics_.value("whet_generated_tokens_total", {{"model", model}}));
  std::vector<double> latencies;
  {
    std::lock_guard lock(mutex_);
    const auto found = models_.find(model);
    if (found != models_.end()) {
      t.requests = found->second.requests;
      t.errors = found->second.errors;
      latencies.assign(found->second.latencies.begin(), found->second.latencies.end());
    }
  }
  t.latency_p50 = latencies.empty() ? NAN : quantile(latencies, 0.5);
  t.latency_p95 = latencies.empty() ? NAN : quantile(latencies, 0.95);
  return t;
}

}  // namespace whet::serve
