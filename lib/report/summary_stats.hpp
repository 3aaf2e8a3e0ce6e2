// Aggregates over replicates (seeds) for pivots and figure tables: n, mean, sample standard
// deviation (n - 1 in the denominator, undefined below two values), min and max.
#pragma once

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

enum class Aggregate { mean, std, n, min, max };

// "mean,std,n" -> {mean, std, n}; unknown or repeated names are a UsageError.
std::vector<Aggregate> parse_aggregates(std::string_view list);
std::string aggregate_name(Aggregate aggregate);

// n as an integer; the others as reals, NULL when undefined.
Value aggregate_value(const Summary& summary, Aggregate aggregate);

}  // namespace vitsweep::report
