// What a sweep file means: the settings shared by every trial, the axes of the grid, extra and
// excluded trials, seeds and command-line overrides. Parsing checks everything that can be checked
// without building trials, and every error names the file and the JSON path:
//   sweeps/x.json: grid.alpha[3]: expected a number in [-16, 16], got "one"
//
// The file (JSON, written by hand):
//   {
//     "name": "fig2_alpha",                          required, [A-Za-z0-9_.-]+
//     "description": "...",                          optional
//     "base": {"epochs": 5, "model": "micro/4"},     settings shared by every trial
//     "grid": {"attn": ["relu", "gelu"],             each key an axis: a list, a range or a
//              "alpha": {"range": [0, 2, 0.5]}},     linspace (see axis_values.hpp)
//     "zip": [{"width": [64, 128], "heads": [2, 4]}],  groups of keys that vary together
//     "include": [{"attn": "softmax"}],              extra trials: base + the entry, times seeds
//     "exclude": [{"attn": "gelu", "alpha": 0}],     drop grid trials matching every key of one
//     "seeds": 3,                                    replicates: 3 -> seeds 0, 1, 2; or [0, 7]
//     "set": {"epochs": 1}                           applied to every trial, last (what --set adds)
//   }
// A key varies along at most one axis (a key repeated in grid and zip would silently drop a
// dimension), and `seed` may not be set anywhere else when `seeds` is given.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"

namespace vitsweep::sweep {

// One dimension of the Cartesian product: a grid key (keys.size() == 1) or a zip group (several
// keys varying together).
struct Axis {
  std::vector<std::string> keys;
  std::vector<std::vector<OrderedJson>> points;  // points[i][k] = value of keys[k] at point i
  std::string origin;  // "grid.alpha", "zip[0]" or "--grid alpha", for messages
};

struct SweepSpec {
  std::string name, description;
  std::string source;                        // file path (or label) used in error messages
  OrderedJson base = OrderedJson::object();  // trial settings shared by every trial
  std::vector<Axis> axes;              // grid keys in file order, then zip groups in file order
  std::vector<OrderedJson> include;    // extra explicit trials (partial settings on top of base)
  std::vector<OrderedJson> exclude;    // partial settings; a grid trial matching every key of one
                                       // entry is dropped
  std::vector<int64_t> seeds;          // replicates; empty = just base's seed
  std::vector<std::string> overrides;  // --set KEY=VALUE applied to every trial, last

  // The effective spec as JSON, in the file format above, after overrides: axes as explicit
  // lists, seeds as a list, overrides as "set". parse_sweep reads it back to the same trials.
  OrderedJson document() const;
};

SweepSpec parse_sweep(const OrderedJson& document, std::string_view source);

// read_json_file (line and column for syntax errors, duplicate keys rejected) + parse_sweep.
SweepSpec read_sweep_file(const std::string& path);

// Command-line changes, checked like the file:
//   --set KEY=VALUE  (sets) every trial gets it, after everything else; value as config's
//                    parse_setting reads it ("alpha=0.5", "attn=relu")
//   --grid KEY=v1,v2,...  (grids) replaces KEY's grid axis, or adds one after the last grid key
//                    (before the zip groups, where the file would put it); values read like
//                    --set's ("alpha=0,0.5,1", "attn=relu,gelu"), or a JSON list, range or
//                    linspace ('alpha={"range": [0, 1, 0.25]}'). A key in a zip group is an error.
void apply_overrides(SweepSpec& spec, const std::vector<std::string>& sets,
                     const std::vector<std::string>& grids);

// "alpha" -> "alpha=0.5" style text of one --set, as parse_setting reads it back.
std::string format_setting(const std::string& key, const OrderedJson& value);

}  // namespace vitsweep::sweep
