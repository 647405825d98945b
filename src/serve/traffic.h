#pragma once
// Traffic per served model (a base or an adapter, by the name requests give):
// requests, errors and latency of the completion endpoints, counted in
// Prometheus and kept for GET /v1/monitoring, whose latency quantiles are
// exact over each model's newest requests rather than read off histogram buckets.
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "serve/prometheus.h"

namespace whet::serve {

struct ModelTraffic {
  int64_t requests = 0, errors = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0;  // as the engine counted them (whet_prompt_tokens_total, ...)
  double latency_p50 = 0, latency_p95 = 0;           // seconds, over the newest kLatencyWindow requests; NaN: none
};

class TrafficStats {
 public:
  static constexpr size_t kLatencyWindow = 1000;

  explicit TrafficStats(MetricsRegistry& metrics);
  // One completion request that named a served model, ended after `seconds`
  // (a stream at its last byte); `failed`: an error answer or an error event in a stream.
  void record(const std::string& model, double seconds, bool failed);
  ModelTraffic of(const std::string& model) const;

 private:
  struct Counts {
    int64_t requests = 0, errors = 0;
    std::deque<double> latencies;  // newest last
  };
  MetricsRegistry& metrics_;
  mutable std::mutex mutex_;
  std::map<std::string, Counts> models_;
};

}  // namespace whet::serve
