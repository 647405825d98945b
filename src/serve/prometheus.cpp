#include "serve/prometheus.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace whet::serve {
namespace {

bool is_name(std::string_view name, bool allow_colon) {
  auto first = [&](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (allow_colon && c == ':');
  };
  auto rest = [&](char c) { return first(c) || std::isdigit(static_cast<unsigned char>(c)); };
  return !name.empty() && first(name[0]) && std::all_of(name.begin() + 1, name.end(), rest);
}

// The shortest text that reads back as the same double, with the format's spellings of infinity and NaN.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// HELP text escapes backslash and newline; label values also escape the double quote.
std::string escape(std::string_view text, bool quote) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '"': out += quote ? "\\\"" : "\""; break;
      default: out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}`, with `le` last when given; nothing for no labels.
std::string label_text(const Labels& labels, std::string_view le = {}) {
  std::string out;
  for (const auto& [name, value] : labels)
    out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", name, escape(value, true));
  if (!le.empty()) out += fmt::format("{}le=\"{}\"", out.empty() ? "" : ",", le);
  return out.empty() ? out : "{" + out + "}";
}

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
  }
  WHET_ASSERT(false);
}

}  // namespace

void MetricsRegistry::describe(std::string_view name, MetricType type, std::string_view help,
                               std::vector<double> buckets) {
  WHET_ASSERT(is_name(name, true));
  WHET_ASSERT((type == MetricType::Histogram) == !buckets.empty());
  WHET_ASSERT(std::all_of(buckets.begin(), buckets.end(), [](double b) { return std::isfinite(b); }));
  WHET_ASSERT(std::adjacent_find(buckets.begin(), buckets.end(), std::greater_equal<>()) == buckets.end());
  std::lock_guard lock(mutex_);
  WHET_ASSERT(!by_name_.contains(name));
  by_name_.emplace(std::string(name), families_.size());
  families_.push_back(Family{std::string(name), type, std::string(help), std::move(buckets), {}});
}

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, MetricType type) {
  const auto found = by_name_.find(name);
  WHET_ASSERT(found != by_name_.end());
  Family& family = families_[found->second];
  WHET_ASSERT(family.type == type);
  return family;
}

Labels MetricsRegistry::sorted(const Labels& labels) {
  Labels out = labels;
  std::sort(out.begin(), out.end());
  return out;
}

MetricsRegistry::Series& MetricsRegistry::series(Family& family, const Labels& labels) {
  Labels sorted = MetricsRegistry::sorted(labels);
  for (size_t i = 0; i < sorted.size(); ++i) {
    // "le" is the histogram's own label; names starting "__" are Prometheus's.
    WHET_ASSERT(is_name(sorted[i].first, false) && !sorted[i].first.starts_with("__"));
    WHET_ASSERT(family.type != MetricType::Histogram || sorted[i].first != "le");
    WHET_ASSERT(i == 0 || sorted[i - 1].first != sorted[i].first);
  }
  Series& s = family.series[std::move(sorted)];
  if (family.type == MetricType::Histogram && s.bucket_hits.empty()) s.bucket_hits.assign(family.buckets.size() + 1, 0);
  return s;
}

void MetricsRegistry::counter_add(std::string_view name, const Labels& labels, double v) {
  WHET_ASSERT(v >= 0);
  std::lock_guard lock(mutex_);
  series(family(name, MetricType::Counter), labels).value += v;
}

void MetricsRegistry::gauge_set(std::string_view name, const Labels& labels, double v) {
  std::lock_guard lock(mutex_);
  series(family(name, MetricType::Gauge), labels).value = v;
}

void MetricsRegistry::histogram_observe(std::string_view name, const Labels& labels, double v) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, MetricType::Histogram);
  Series& s = series(f, labels);
  // Bounds are inclusive (le); NaN belongs in no finite bucket, only in +Inf, as in Prometheus's own clients.
  const size_t bucket = std::isnan(v)
                            ? f.buckets.size()
                            : size_t(std::lower_bound(f.buckets.begin(), f.buckets.end(), v) - f.buckets.begin());
  ++s.bucket_hits[bucket];
  s.sum += v;
  ++s.count;
}

double MetricsRegistry::value(std::string_view name, const Labels& labels) const {
  std::lock_guard lock(mutex_);
  const auto found = by_name_.find(name);
  WHET_ASSERT(found != by_name_.end());
  const Family& f = families_[found->second];
  WHET_ASSERT(f.type != MetricType::Histogram);
  const auto s = f.series.find(sorted(labels));
  return s == f.series.end() ? 0 : s->second.value;
}

void MetricsRegistry::remove(std::string_view name, const Labels& labels) {
  std::lock_guard lock(mutex_);
  const auto found = by_name_.find(name);
  WHET_ASSERT(found != by_name_.end());
  families_[found->second].series.erase(sorted(labels));
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const Family& family : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, escape(family.help, false), family.name,
                       type_name(family.type));
    for (const auto& [labels, s] : family.series) {
      if (family.type != MetricType::Histogram) {
        out += fmt::format("{}{} {}\n", family.name, label_text(labels), number(s.value));
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t b = 0; b < s.bucket_hits.size(); ++b) {
        cumulative += s.bucket_hits[b];
        const double bound = b < family.buckets.size() ? family.buckets[b] : INFINITY;
        out += fmt::format("{}_bucket{} {}\n", family.name, label_text(labels, number(bound)), cumulative);
      }
      out += fmt::format("{}_sum{} {}\n", family.name, label_text(labels), number(s.sum));
      out += fmt::format("{}_count{} {}\n", family.name, label_text(labels), s.count);
    }
  }
  return out;
}

}  // namespace whet::serve
