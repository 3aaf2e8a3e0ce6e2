// Aggregates over replicates (seeds) for pivots and figure tables: n, mean, sample standard
// deviation (n - 1 in the denominator, undefined below two values), min and max; the mean with
// its Student t confidence interval; and a standard deviation pooled over groups of replicates.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "report/value_table.hpp"

namespace vitsweep::report {

struct Summary {
  int64_t n = 0;
  double mean, std, min, max;  // NaN when undefined (std needs n >= 2, the rest n >= 1)
};

Summary summarize(const std::vector<double>& values);

// The mean of `values` with its standard error (std / sqrt(n)) and the two-sided `confidence`
// Student t interval, mean -+ t(1 - (1 - confidence) / 2, n - 1) * se. Treats the values as
// independent draws (seeds, or differences of seed-paired trials). se and the interval are NaN
// below two values: one value has no spread to measure.
struct MeanInterval {
  int64_t n = 0;
  double mean = NAN, std = NAN, se = NAN;
  double t = NAN;  // the t quantile used
  double low = NAN, high = NAN;
  bool holds_zero() const { return low <= 0 && high >= 0; }
  bool defined() const { return n >= 2; }
};
MeanInterval mean_interval(const std::vector<double>& values, double confidence = 0.95);

// sqrt(sum over groups of (n_g - 1) s_g^2 / sum of (n_g - 1)): the per-replicate standard deviation
// when every group has the same spread. Groups of one value add nothing; dof is sum (n_g - 1),
// std is NaN when it is 0.
struct PooledStd {
  int64_t groups = 0;  // groups with two or more values
  int64_t values = 0;  // values in those groups
  int64_t dof = 0;
  double std = NAN;
};
PooledStd pooled_std(const std::vector<std::vector<double>>& groups);

enum class Aggregate { mean, std, n, min, max };

// "mean,std,n" -> {mean, std, n}; unknown or repeated names are a UsageError.
std::vector<Aggregate> parse_aggregates(std::string_view list);
std::string aggregate_name(Aggregate aggregate);

// n as an integer; the others as reals, NULL when undefined.
Value aggregate_value(const Summary& summary, Aggregate aggregate);

}  // namespace vitsweep::report
