// The values one swept key takes, as written in a sweep file:
//   [v1, v2, ...]                a non-empty list, each value checked like a config setting
//   {"range": [from, to, step]}  from + i*step for i = 0, 1, ... up to and including `to`
//   {"linspace": [from, to, n]}  n evenly spaced values, both ends included (n == 1: [from])
// Ranges are computed as from + i*step, never by repeated addition, and every computed point is
// rounded to 12 significant digits of the range's scale (the largest of |from|, |to|, |step|), so
// range [0, 1, 0.1] yields exactly the doubles the literals 0, 0.1, 0.2, 0.3, ..., 1 parse to and
// a point that should be 0 is 0. `to` counts as reached within 1e-9 of a step. For integer keys
// (depth, seed, ...) from, to and step must be integers and the points are integers.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"

namespace vitsweep::sweep {

// One axis larger than this is almost certainly a typo in a step; it would also be held in memory.
inline constexpr size_t kMaxAxisPoints = 1'000'000;

// Throws UsageError naming `source` and the JSON `path` of the offending part
// ("sweeps/x.json: grid.alpha.range: step must be non-zero").
std::vector<OrderedJson> parse_axis_values(const std::string& key, const OrderedJson& spec,
                                           std::string_view source, std::string_view path);

// `value` rounded to 12 significant digits relative to `scale`, with -0 made 0.
double round_to_scale(double value, double scale);

}  // namespace vitsweep::sweep
