// The paper's four figures (docs/method.md) and training curves, computed from a sweep's finished
// trials: for each, a table (what `sweep export --table figN` writes) and the plots the report
// draws. Accuracy is the final test accuracy; every point is the mean over seeds with the sample
// standard deviation (n - 1) as its error bar and the single seeds as faint dots; each plot says
// so, with the seeds and epochs, in a footnote, and the panels of a figure share their y range.
// Keys the figure does not show are handled as in trial_slices.hpp: other ablations held at their
// default, anything else split into panels.
//
//   fig1  accuracy vs compute: one row per panel x model size (width, depth, heads, mlp_dim,
//         patch) x attn (x alpha): n, params, test_acc, test_acc_std, core_s, core_s_std.
//         Plot: test accuracy against mean CPU core-seconds per trial (log x), one line per
//         attention (and alpha) and patch size through the model sizes, every point labelled.
//   fig2  accuracy vs alpha per h: one row per panel x alpha; per point-wise attn a column of the
//         mean test accuracy (named after it, e.g. relu) and one of its std (relu_std); then
//         softmax and softmax_std, the same on every row of a panel: the reference.
//   fig3  qk-layernorm: one row per panel x attn x alpha: qk_norm_off, qk_norm_off_std,
//         qk_norm_on, qk_norm_on_std (mean test accuracy and std).
//   fig4  gate: one row per panel x attn x alpha x gate: n, test_acc, test_acc_std, core_s,
//         core_s_std, core_s_overhead. The overhead of a gated row is its mean core-seconds per
//         trial over the mean of the row with gate none and otherwise the same settings, minus
//         one (0.093 = 9.3% more compute). Trials compared this way train the same images for
//         the same steps, so per trial is per image. The overall overhead of a gate (in the notes
//         and the legend) pools every such matched pair: mean core_s of the gated trials over the
//         mean core_s of their ungated counterparts, minus one.
//   scaling, best  see selection_figures.hpp.
//   curves  test accuracy per epoch (epochs view), one line per group of trials that differ only
//         in seed, mean ± std per epoch; charts split by the leading varying keys so each has at
//         most six lines.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "report/model_selection.hpp"
#include "report/svg_plot.hpp"
#include "report/trial_filter.hpp"
#include "report/trial_slices.hpp"
#include "report/value_table.hpp"
#include "store/database.hpp"

namespace vitsweep::report {

struct Figure {
  std::string id;       // fig1, fig2, fig3, fig4, curves
  std::string title;    // "Fig. 2: accuracy vs alpha"
  std::string caption;  // what is drawn and how it was computed
  std::string skipped;  // why there is no figure (the sweep lacks the data); empty: drawn
  ValueTable table;     // its notes: keys held at default, trials left out, overheads
  std::vector<Plot> plots;
};

// The trials figures are made of: status done, selected by `filter`.
TrialRows load_done_trials(store::Database& db, const TrialFilter& filter);

Figure figure1(const TrialRows& trials);
Figure figure2(const TrialRows& trials);
Figure figure3(const TrialRows& trials);
Figure figure4(const TrialRows& trials);
Figure training_curves(store::Database& db, const TrialFilter& filter, const TrialRows& trials);

// "fig1" ... "fig4", "scaling", "best" (the last two pick alpha as `selection` says); anything
// else is a UsageError.
Figure paper_figure(store::Database& db, const TrialFilter& filter, std::string_view id,
                    const SelectionSpec& selection = {});

// What `sweep report` draws: Fig. 1, Fig. 2, scaling, Fig. 3, Fig. 4, best alpha, the training
// curves. A figure the sweep has no data for, or was not designed for, comes with the reason in
// `skipped` and no plots: Fig. 1 needs model sizes (a patch size alone is the scaling figure's
// question), and a sweep that varies qk_norm or gate has its alpha curves in Fig. 3 or Fig. 4
// rather than Fig. 2.
std::vector<Figure> all_figures(store::Database& db, const TrialFilter& filter);

}  // namespace vitsweep::report
