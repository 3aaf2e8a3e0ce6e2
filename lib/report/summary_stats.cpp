#include "report/summary_stats.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "common/text.hpp"
#include "report/student_t.hpp"

namespace vitsweep::report {

Summary summarize(const std::vector<double>& values) {
  Summary s;
  s.n = static_cast<int64_t>(values.size());
  s.mean = s.std = s.min = s.max = NAN;
  if (values.empty()) return s;
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(values.size());
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  if (values.size() >= 2) {
    // Two passes: squares of deviations, not E[x^2] - E[x]^2 (which cancels catastrophically).
    double squares = 0;
    for (double v : values) squares += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(squares / static_cast<double>(values.size() - 1));
  }
  return s;
}

MeanInterval mean_interval(const std::vector<double>& values, double confidence) {
  const Summary s = summarize(values);
  MeanInterval m;
  m.n = s.n;
  m.mean = s.mean;
  m.std = s.std;
  if (s.n < 2) return m;
  m.se = s.std / std::sqrt(static_cast<double>(s.n));
  m.t = student_t_quantile(1 - (1 - confidence) / 2, static_cast<double>(s.n - 1));
  m.low = m.mean - m.t * m.se;
  m.high = m.mean + m.t * m.se;
  return m;
}

PooledStd pooled_std(const std::vector<std::vector<double>>& groups) {
  PooledStd p;
  double squares = 0;
  for (const auto& g : groups) {
    if (g.size() < 2) continue;
    const Summary s = summarize(g);
    ++p.groups;
    p.values += s.n;
    p.dof += s.n - 1;
    squares += static_cast<double>(s.n - 1) * s.std * s.std;
  }
  if (p.dof > 0) p.std = std::sqrt(squares / static_cast<double>(p.dof));
  return p;
}

std::string aggregate_name(Aggregate aggregate) {
  switch (aggregate) {
    case Aggregate::mean: return "mean";
    case Aggregate::std: return "std";
    case Aggregate::n: return "n";
    case Aggregate::min: return "min";
    case Aggregate::max: return "max";
  }
  return "?";
}

std::vector<Aggregate> parse_aggregates(std::string_view list) {
  static const std::vector<std::string> names = {"mean", "std", "n", "min", "max"};
  if (list.empty()) fail_usage("--agg: empty list (expected e.g. mean,std,n)");
  std::vector<Aggregate> aggregates;
  for (const std::string& name : split(list, ',')) {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      fail_usage("--agg: unknown aggregate '{}'{} (expected a comma-separated list of {})", name,
                 did_you_mean(name, names), join(names));
    }
    const auto aggregate = static_cast<Aggregate>(it - names.begin());
    if (std::find(aggregates.begin(), aggregates.end(), aggregate) != aggregates.end()) {
      fail_usage("--agg: '{}' is listed twice in '{}'", name, list);
    }
    aggregates.push_back(aggregate);
  }
  return aggregates;
}

Value aggregate_value(const Summary& summary, Aggregate aggregate) {
  double v = NAN;
  switch (aggregate) {
    case Aggregate::n: return summary.n;
    case Aggregate::mean: v = summary.mean; break;
    case Aggregate::std: v = summary.std; break;
    case Aggregate::min: v = summary.min; break;
    case Aggregate::max: v = summary.max; break;
  }
  if (std::isnan(v)) return std::monostate{};
  return v;
}

}  // namespace vitsweep::report
