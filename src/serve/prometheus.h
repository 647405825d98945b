#pragma once
// Metrics for GET /metrics in the Prometheus text exposition format 0.0.4:
// counters, gauges and histograms with labels, kept in a registry that any
// thread may update and render. Families appear in the order they were
// described, series within one in the order of their labels, so the text is
// the same for the same state.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace whet::serve {

// Label name and value pairs; their order does not matter (the registry sorts them by name).
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { Counter, Gauge, Histogram };

// Upper bounds in seconds for request and token latencies of an LLM server: from a
// cached 5 ms token to a two-minute generation.
inline const std::vector<double> kLatencyBucketsSeconds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                           1,     2.5,  5,     10,   30,  60,   120};

class MetricsRegistry {
 public:
  // Declares a family before any use (using an undescribed name, or one under
  // another type, is a WHET_ASSERT). A histogram needs increasing, finite bucket
  // bounds; its +Inf bucket is implicit.
  void describe(std::string_view name, MetricType type, std::string_view help, std::vector<double> buckets = {});

  void counter_add(std::string_view name, const Labels& labels, double v = 1);  // v >= 0
  void gauge_set(std::string_view name, const Labels& labels, double v);
  void histogram_observe(std::string_view name, const Labels& labels, double v);

  // A counter's or gauge's value; 0 for a series never set (as Prometheus reads an absent counter).
  double value(std::string_view name, const Labels& labels) const;
  // Drops a series, e.g. the gauges of a model no longer served; nothing when absent.
  void remove(std::string_view name, const Labels& labels);

  std::string render() const;

 private:
  struct Series {
    double value = 0;                   // counter or gauge
    std::vector<uint64_t> bucket_hits;  // histogram: observations per bucket, not yet cumulative
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    std::string name;
    MetricType type;
    std::string help;
    std::vector<double> buckets;
    std::map<Labels, Series> series;  // labels sorted by name
  };
  // The caller holds mutex_.
  Family& family(std::string_view name, MetricType type);
  static Series& series(Family& family, const Labels& labels);
  static Labels sorted(const Labels& labels);

  mutable std::mutex mutex_;
  std::vector<Family> families_;                        // in order of description
  std::map<std::string, size_t, std::less<>> by_name_;  // index into families_
};

}  // namespace whet::serve
