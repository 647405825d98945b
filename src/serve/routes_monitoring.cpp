// GET /v1/monitoring: per served model, its traffic (requests, errors, tokens,
// latency), the drift of its production prompts from its training prompts
// (serve/drift_monitor.h) and the feedback people gave on its answers; what the
// dashboard's Monitoring page and a continuous-training loop read. The same
// numbers reach GET /metrics as gauges.
#include <cmath>

#include "serve/drift_monitor.h"
#include "serve/server_state.h"
#include "serve/traffic.h"

namespace whet::serve {

namespace {

using nlohmann::json;

json number_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }
json number_or_null(std::optional<double> x) { return x ? number_or_null(*x) : json(nullptr); }

// Feedback per kept completion, and the share of thumbs down among the ratings; none without a denominator.
std::optional<double> feedback_rate(const FeedbackTally& t) {
  return t.completions > 0 ? std::optional(double(t.feedback) / double(t.completions)) : std::nullopt;
}
std::optional<double> down_share(const FeedbackTally& t) {
  return t.up + t.down > 0 ? std::optional(double(t.down) / double(t.up + t.down)) : std::nullopt;
}

json drift_json(const DriftReport& r, const DriftOptions& options) {
  return {{"window", r.window},
          {"min_window", options.min_window},
          {"reference", r.reference},
          {"reference_prompts", r.reference_prompts},
          {"psi_prompt_length", number_or_null(r.psi_prompt_length)},
          {"js_tokens", number_or_null(r.js_tokens)},
          {"surprising_share", number_or_null(r.surprising_share)},
          {"perplexity_threshold", number_or_null(r.perplexity_threshold)},
          {"scored", r.scored},
          {"judged", r.judged},
          {"alert", r.alert},
          {"reasons", r.reasons}};
}

json monitoring_json(ServerState& state) {
  const std::map<std::string, FeedbackTally> feedback = state.store.feedback_by_model();
  const DriftOptions& o = state.options.drift;
  json models = json::array();
  for (const ModelDrift& d : state.monitor.report()) {
    const ModelTraffic t = state.traffic.of(d.model);
    const auto tally = feedback.find(d.model);
    const FeedbackTally f = tally == feedback.end() ? FeedbackTally{} : tally->second;
    models.push_back({{"model", d.model},
                      {"base", d.base},
                      {"requests", t.requests},
                      {"errors", t.errors},
                      {"prompt_tokens", t.prompt_tokens},
                      {"completion_tokens", t.completion_tokens},
                      {"latency_p50", number_or_null(t.latency_p50)},
                      {"latency_p95", number_or_null(t.latency_p95)},
                      {"drift", d.drift ? drift_json(*d.drift, o) : json(nullptr)},
                      {"drift_unavailable", d.drift ? json(nullptr) : json(d.unavailable)},
                      {"feedback",
                       {{"rate", number_or_null(feedback_rate(f))},
                        {"down_share", number_or_null(down_share(f))},
                        {"completions", f.completions},
                        {"feedback", f.feedback},
                        {"up", f.up},
                        {"down", f.down}}}});
  }
  return {{"object", "monitoring"},
          {"thresholds",
           {{"psi_prompt_length", o.psi_threshold},
            {"js_tokens", o.js_threshold},
            {"surprising_share", o.surprise_threshold},
            {"window", o.window},
            {"min_window", o.min_window},
            {"sample_rate", o.sample_rate}}},
          {"models", models}};
}

}  // namespace

void set_monitoring_gauges(ServerState& state) {
  const std::vector<ModelDrift> drift = state.monitor.report();
  state.monitor.set_gauges(drift);
  const std::map<std::string, FeedbackTally> feedback = state.store.feedback_by_model();
  for (const ModelDrift& d : drift) {
    const auto tally = feedback.find(d.model);
    const FeedbackTally f = tally == feedback.end() ? FeedbackTally{} : tally->second;
    for (const auto& [name, value] : {std::pair{"whet_feedback_rate", feedback_rate(f)},
                                      {"whet_feedback_down_share", down_share(f)}}) {
      if (value) state.metrics.gauge_set(name, {{"model", d.model}}, *value);
      else state.metrics.remove(name, {{"model", d.model}});
    }
  }
}

void add_monitoring_routes(httplib::Server& server, ServerState& state) {
  state.metrics.describe("whet_feedback_rate", MetricType::Gauge,
                         "Feedback items per completion, over the completions the server keeps, by model");
  state.metrics.describe("whet_feedback_down_share", MetricType::Gauge,
                         "Share of thumbs down among the ratings of the kept completions, by model");
  add_route(server, state, "GET", "/v1/monitoring", "monitoring", Access::Manage,
            [&state](const httplib::Request&, httplib::Response& response) {
              send_json(response, monitoring_json(state));
            });
}

}  // namespace whet::serve
