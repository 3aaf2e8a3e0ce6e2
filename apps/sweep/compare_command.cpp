// `sweep compare`: the paired difference a setting makes (report/paired_comparison.hpp). This file
// parses options and prints.
#include <fmt/format.h>

#include <cstdio>

#include "commands.hpp"
#include "common/error.hpp"
#include "common/text.hpp"
#include "report/paired_comparison.hpp"
#include "report/table_formats.hpp"
#include "store/results_store.hpp"

namespace vitsweep::cli {

void add_compare_command(CLI::App& app) {
  CLI::App* cmp = app.add_subcommand(
      "compare",
      "Compare two values of one setting on trials paired by seed and every other setting: per "
      "group the mean difference B - A of a metric, its standard error and 95% t-interval, and "
      "the sweep's pooled per-trial std. Examples:\n"
      "  sweep compare --key attn --a softmax --b relu --where \"alpha = 1 OR attn = 'softmax'\"\n"
      "  sweep compare --key attn --a softmax --b relu --tune alpha   (relu at its best alpha)");
  struct Options {
    std::string db = "results/sweep.db", sweep, where, key, a, b, metric = "test_acc", by,
                format = "table", tune, select_on;
  };
  auto o = std::make_shared<Options>();
  cmp->add_option("--key", o->key, "The setting compared, e.g. attn")->required();
  cmp->add_option("--a", o->a, "Its first value (the baseline), e.g. softmax")->required();
  cmp->add_option("--b", o->b, "Its second value, e.g. relu; differences are B - A")->required();
  cmp->add_option("--db", o->db, "Results database")->capture_default_str();
  cmp->add_option("--sweep", o->sweep, "The sweep (optional when the database holds only one)");
  cmp->add_option("--where", o->where,
                  "SQL expression over the results view's columns, e.g. \"patch = 4\"");
  cmp->add_option("--metric", o->metric, "The metric compared")->capture_default_str();
  cmp->add_option("--by", o->by,
                  "Group pairs by these settings, comma-separated (default: every other setting "
                  "that varies); none: one group of every pair");
  cmp->add_option("--tune", o->tune,
                  "Set this key on each side to its best value per combination of the other "
                  "settings before pairing, e.g. alpha");
  cmp->add_option("--select-on", o->select_on,
                  "--tune: the metric that picks the best value (default: val_acc when stored, "
                  "else test_acc)");
  cmp->add_option("--format", o->format, "table, csv, json or markdown")->capture_default_str();
  cmp->callback([o] {
    const report::TableFormat format = report::parse_table_format(o->format);
    if (!o->select_on.empty() && o->tune.empty()) fail_usage("--select-on needs --tune");
    report::ComparisonSpec spec;
    spec.key = o->key;
    spec.a = o->a;
    spec.b = o->b;
    spec.metric = o->metric;
    spec.pool = o->by == "none";
    if (!spec.pool) {
      for (std::string& k : split(o->by, ',')) {
        if (!k.empty()) spec.by.push_back(std::move(k));
      }
    }
    spec.tune = o->tune;
    spec.select_on = o->select_on;
    store::ResultsStore store(o->db, store::Database::Access::read_only);
    const report::Comparison c = report::compare_paired(store.db(), {o->sweep, o->where}, spec);
    fmt::print("{}", report::format_comparison(c, spec, format));
    std::fflush(stdout);
    for (const auto& note : c.table.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
    for (const auto& note : c.noise.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
    if (format == report::TableFormat::csv)
      std::fprintf(stderr, "note: %s\n", report::noise_line(c).c_str());
  });
}

}  // namespace vitsweep::cli
