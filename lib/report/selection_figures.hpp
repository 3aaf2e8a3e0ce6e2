// Figures built on model selection (model_selection.hpp): the value of alpha each setting would
// pick on its validation accuracy, reported with its test accuracy.
//
//   best     the best alpha per combination of the other settings (best_table): a table, no plot.
//   scaling  "is L^-1 the right scaling?": accuracy against the constant the point-wise weights
//            are multiplied by, c = L_eff^-alpha (L_eff = scale_length, else the number of keys;
//            log x), one panel per point-wise h, one line per sequence length (patch) and
//            scale_length through the values of alpha, softmax at each length as a black
//            reference, the best alpha of each line ringed. If L^-1 is right, each line peaks at
//            c = 1/L and the peaks move left as L grows; if a fixed constant is, the peaks line up.
//            Drawn when point-wise trials vary patch and alpha. Its table, one row per panel x
//            attn x patch x scale_length:
//              <panel keys>, attn, patch, L, scale_length, alpha (the best), c, candidates, n,
//              <select metric>, <metric>, <metric>_ci_low, <metric>_ci_high, <metric>_alpha1,
//              diff_vs_alpha1, diff_ci_low, diff_ci_high
//            <metric> is the reported metric at the best alpha with its 95% t-interval over the
//            seeds; diff_vs_alpha1 its seed-paired difference from alpha = 1 with a 95%
//            t-interval (empty when the best alpha is 1, or alpha 1 was not run). Softmax rows
//            (one per L) have the metric and its interval only.
#pragma once

#include "report/model_selection.hpp"
#include "report/paper_figures.hpp"
#include "report/trial_settings.hpp"

namespace vitsweep::report {

Figure best_figure(const TrialRows& trials, const TrialSettings& settings,
                   const SelectionSpec& selection);

Figure scaling_figure(const TrialRows& trials, const TrialSettings& settings,
                      const SelectionSpec& selection);

}  // namespace vitsweep::report
