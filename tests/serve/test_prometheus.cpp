// The registry's text against exposition format 0.0.4 written out by hand.
#include <gtest/gtest.h>

#include <limits>
#include <thread>
#include <vector>

#include "serve/prometheus.h"

namespace whet::serve {
namespace {

void expect_line(const std::string& text, const std::string& line) {
  EXPECT_NE(text.find("\n" + line + "\n"), std::string::npos) << "no line '" << line << "' in\n" << text;
}

TEST(Prometheus, RendersFamiliesInDescriptionOrderAndSeriesByLabels) {
  MetricsRegistry metrics;
  metrics.describe("whet_requests_total", MetricType::Counter, "HTTP requests answered.");
  metrics.describe("whet_jobs", MetricType::Gauge, "Fine-tuning jobs by status.");
  metrics.describe("whet_uptime_seconds", MetricType::Gauge, "Seconds since start.");
  metrics.describe("whet_idle", MetricType::Counter, "Described but never used.");
  // Labels given in any order name the same series.
  metrics.counter_add("whet_requests_total", {{"path", "/v1/models"}, {"code", "200"}});
  metrics.counter_add("whet_requests_total", {{"code", "200"}, {"path", "/v1/models"}}, 2);
  metrics.counter_add("whet_requests_total", {{"path", "/v1/chat/completions"}, {"code", "200"}}, 0.5);
  metrics.counter_add("whet_requests_total", {{"path", "/v1/chat/completions"}, {"code", "400"}});
  metrics.gauge_set("whet_jobs", {{"status", "running"}}, 1);
  metrics.gauge_set("whet_jobs", {{"status", "queued"}}, 4);
  metrics.gauge_set("whet_jobs", {{"status", "queued"}}, 3);
  metrics.gauge_set("whet_uptime_seconds", {}, 12.25);
  EXPECT_EQ(metrics.render(),
            "# HELP whet_requests_total HTTP requests answered.\n"
            "# TYPE whet_requests_total counter\n"
            "whet_requests_total{code=\"200\",path=\"/v1/chat/completions\"} 0.5\n"
            "whet_requests_total{code=\"200\",path=\"/v1/models\"} 3\n"
            "whet_requests_total{code=\"400\",path=\"/v1/chat/completions\"} 1\n"
            "# HELP whet_jobs Fine-tuning jobs by status.\n"
            "# TYPE whet_jobs gauge\n"
            "whet_jobs{status=\"queued\"} 3\n"
            "whet_jobs{status=\"running\"} 1\n"
            "# HELP whet_uptime_seconds Seconds since start.\n"
            "# TYPE whet_uptime_seconds gauge\n"
            "whet_uptime_seconds 12.25\n"
            "# HELP whet_idle Described but never used.\n"
            "# TYPE whet_idle counter\n");
}

TEST(Prometheus, HistogramBucketsAreCumulativeWithInclusiveBounds) {
  MetricsRegistry metrics;
  metrics.describe("whet_latency_seconds", MetricType::Histogram, "Request latency.", {0.1, 1, 10});
  // 0.1 lands in le="0.1" (bounds are inclusive); 50 only in +Inf.
  for (double v : {0.05, 0.1, 0.5, 2.0, 50.0}) metrics.histogram_observe("whet_latency_seconds", {{"model", "m"}}, v);
  metrics.histogram_observe("whet_latency_seconds", {}, 3);
  EXPECT_EQ(metrics.render(),
            "# HELP whet_latency_seconds Request latency.\n"
            "# TYPE whet_latency_seconds histogram\n"
            "whet_latency_seconds_bucket{le=\"0.1\"} 0\n"
            "whet_latency_seconds_bucket{le=\"1\"} 0\n"
            "whet_latency_seconds_bucket{le=\"10\"} 1\n"
            "whet_latency_seconds_bucket{le=\"+Inf\"} 1\n"
            "whet_latency_seconds_sum 3\n"
            "whet_latency_seconds_count 1\n"
            "whet_latency_seconds_bucket{model=\"m\",le=\"0.1\"} 2\n"
            "whet_latency_seconds_bucket{model=\"m\",le=\"1\"} 3\n"
            "whet_latency_seconds_bucket{model=\"m\",le=\"10\"} 4\n"
            "whet_latency_seconds_bucket{model=\"m\",le=\"+Inf\"} 5\n"
            "whet_latency_seconds_sum{model=\"m\"} 52.65\n"
            "whet_latency_seconds_count{model=\"m\"} 5\n");
}

TEST(Prometheus, LatencyBucketsSpanMillisecondsToMinutes) {
  MetricsRegistry metrics;
  metrics.describe("whet_request_seconds", MetricType::Histogram, "Latency.", kLatencyBucketsSeconds);
  metrics.histogram_observe("whet_request_seconds", {}, 0.001);
  const std::string text = metrics.render();
  expect_line(text, "whet_request_seconds_bucket{le=\"0.005\"} 1");
  expect_line(text, "whet_request_seconds_bucket{le=\"120\"} 1");
  expect_line(text, "whet_request_seconds_bucket{le=\"+Inf\"} 1");
}

TEST(Prometheus, EscapesLabelValuesAndHelp) {
  MetricsRegistry metrics;
  metrics.describe("whet_adapter_loaded", MetricType::Gauge, "Adapters\\served\nnow, \"by name\".");
  metrics.gauge_set("whet_adapter_loaded", {{"name", "a\\b \"c\"\nd"}}, 1);
  EXPECT_EQ(metrics.render(),
            "# HELP whet_adapter_loaded Adapters\\\\served\\nnow, \"by name\".\n"
            "# TYPE whet_adapter_loaded gauge\n"
            "whet_adapter_loaded{name=\"a\\\\b \\\"c\\\"\\nd\"} 1\n");
}

TEST(Prometheus, SpecialValuesUseTheFormatsSpelling) {
  MetricsRegistry metrics;
  metrics.describe("whet_loss", MetricType::Gauge, "Loss.");
  metrics.gauge_set("whet_loss", {{"job", "a"}}, std::numeric_limits<double>::infinity());
  metrics.gauge_set("whet_loss", {{"job", "b"}}, -std::numeric_limits<double>::infinity());
  metrics.gauge_set("whet_loss", {{"job", "c"}}, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(metrics.render(),
            "# HELP whet_loss Loss.\n"
            "# TYPE whet_loss gauge\n"
            "whet_loss{job=\"a\"} +Inf\n"
            "whet_loss{job=\"b\"} -Inf\n"
            "whet_loss{job=\"c\"} NaN\n");
}

TEST(Prometheus, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry metrics;
  metrics.describe("whet_tokens_total", MetricType::Counter, "Tokens.");
  metrics.describe("whet_token_seconds", MetricType::Histogram, "Per token.", {0.5});
  constexpr int kThreads = 8, kAdds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < kAdds; ++i) {
        metrics.counter_add("whet_tokens_total", {{"model", t % 2 ? "odd" : "even"}});
        metrics.histogram_observe("whet_token_seconds", {}, i % 2 ? 1.0 : 0.25);
        if (i % 1000 == 0) metrics.render();  // readers alongside writers
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::string text = metrics.render();
  expect_line(text, "whet_tokens_total{model=\"even\"} 80000");
  expect_line(text, "whet_tokens_total{model=\"odd\"} 80000");
  expect_line(text, "whet_token_seconds_bucket{le=\"0.5\"} 80000");
  expect_line(text, "whet_token_seconds_bucket{le=\"+Inf\"} 160000");
  expect_line(text, "whet_token_seconds_sum 100000");
  expect_line(text, "whet_token_seconds_count 160000");
}

TEST(PrometheusDeathTest, UndescribedOrMistypedNamesAreInternalErrors) {
  MetricsRegistry metrics;
  metrics.describe("whet_jobs", MetricType::Gauge, "Jobs.");
  EXPECT_DEATH(metrics.counter_add("whet_unknown_total", {}), "assertion");
  EXPECT_DEATH(metrics.counter_add("whet_jobs", {}), "assertion");
  EXPECT_DEATH(metrics.gauge_set("whet_jobs", {{"bad-name", "x"}}, 1), "assertion");
}

TEST(Prometheus, ValuesReadBackAndSeriesAreRemoved) {
  MetricsRegistry metrics;
  metrics.describe("whet_tokens_total", MetricType::Counter, "Tokens.");
  metrics.describe("whet_share", MetricType::Gauge, "A share.");
  metrics.counter_add("whet_tokens_total", {{"model", "a"}}, 3);
  metrics.counter_add("whet_tokens_total", {{"model", "a"}}, 4);
  metrics.gauge_set("whet_share", {{"model", "a"}, {"feature", "x"}}, 0.25);
  EXPECT_EQ(metrics.value("whet_tokens_total", {{"model", "a"}}), 7);
  EXPECT_EQ(metrics.value("whet_tokens_total", {{"model", "b"}}), 0);  // never set
  EXPECT_EQ(metrics.value("whet_share", {{"feature", "x"}, {"model", "a"}}), 0.25);  // labels in any order
  metrics.remove("whet_share", {{"feature", "x"}, {"model", "a"}});
  metrics.remove("whet_share", {{"model", "never"}});
  EXPECT_EQ(metrics.render(),
            "# HELP whet_tokens_total Tokens.\n"
            "# TYPE whet_tokens_total counter\n"
            "whet_tokens_total{model=\"a\"} 7\n"
            "# HELP whet_share A share.\n"
            "# TYPE whet_share gauge\n");
}

}  // namespace
}  // namespace whet::serve
