// `sweep query`, `sweep export` and `sweep report`: reading the results database. The work is in
// lib/report; this file parses options and prints (`sweep compare` is in compare_command.cpp).
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "commands.hpp"
#include "common/error.hpp"
#include "common/text.hpp"
#include "report/csv.hpp"
#include "report/export_forms.hpp"
#include "report/html_report.hpp"
#include "report/paper_figures.hpp"
#include "report/read_only_sql.hpp"
#include "report/table_formats.hpp"
#include "report/trial_filter.hpp"
#include "store/results_store.hpp"

namespace vitsweep::cli {

namespace {

constexpr const char* kDefaultDb = "results/sweep.db";

void print_notes(const report::ValueTable& table) {
  for (const auto& note : table.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
}

// Writes to `file`, or to stdout when it is empty or "-".
void write_output(const std::string& file, const std::string& text) {
  if (file.empty() || file == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return;
  }
  std::ofstream out(file, std::ios::binary);
  if (!out) fail("{}: cannot create: {}", file, std::strerror(errno));
  out << text;
  out.close();
  if (!out) fail("{}: cannot write: {}", file, std::strerror(errno));
}

std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> items;
  for (std::string& item : split(text, ',')) {
    if (!item.empty()) items.push_back(std::move(item));
  }
  return items;
}

}  // namespace

void add_query_command(CLI::App& app) {
  CLI::App* query = app.add_subcommand(
      "query",
      "Run one read-only SQL statement on the results database and print the rows. The views "
      "`results` (one row per trial of a sweep: config columns, status, final metrics) and "
      "`epochs` (per-epoch metrics) are documented in the README; writes, ATTACH and "
      "state-changing PRAGMAs are refused.");
  struct Options {
    std::string sql, db = kDefaultDb, format = "table";
  };
  auto o = std::make_shared<Options>();
  query
      ->add_option("sql", o->sql,
                   "SQL, e.g. \"SELECT attn, alpha, avg(test_acc) FROM results GROUP BY 1, 2\"")
      ->required();
  query->add_option("--db", o->db, "Results database")->capture_default_str();
  query->add_option("--format", o->format, "table, csv, json or markdown")->capture_default_str();
  query->callback([o] {
    const report::TableFormat format = report::parse_table_format(o->format);
    store::ResultsStore store(o->db, store::Database::Access::read_only);
    const report::ValueTable rows = report::read_only_query(store.db(), o->sql);
    fmt::print("{}", report::format_table(rows, format));
    if (format == report::TableFormat::table) {
      fmt::print("({} row{})\n", rows.rows.size(), rows.rows.size() == 1 ? "" : "s");
    }
  });
}

namespace {

struct ExportOptions {
  std::string db = kDefaultDb, output, form = "wide", sweep, where, table;
  std::string rows, cols, value = "test_acc", agg = "mean,std,n";
  std::string tune, select_on, metric;
  bool only_changed = false;
  int precision = 0;
};

// Options that belong to another way of exporting are a usage error, not silently ignored.
void check_export_options(const ExportOptions& o) {
  const bool pivot_options = !o.rows.empty() || !o.cols.empty();
  if (!o.table.empty() && (o.only_changed || pivot_options)) {
    fail_usage("--table {}: has its own columns; --only-changed, --rows and --cols do not apply",
               o.table);
  }
  const bool selection_options = !o.tune.empty() || !o.select_on.empty() || !o.metric.empty();
  const bool selection_table = o.table == "best" || o.table == "scaling";
  if (selection_options && !selection_table) {
    fail_usage("--tune, --select-on and --metric apply to --table best and scaling");
  }
  if (!o.tune.empty() && o.table != "best") fail_usage("--tune applies to --table best");
  if (o.table.empty()) {
    const report::ExportForm form = report::parse_export_form(o.form);
    if (form != report::ExportForm::pivot && pivot_options) {
      fail_usage("--rows and --cols need --form pivot");
    }
    if (form == report::ExportForm::pivot && o.only_changed) {
      fail_usage("--only-changed applies to --form long and wide");
    }
  }
}

// --table: the table behind one of the report's figures.
report::ValueTable figure_table(store::Database& db, const ExportOptions& o) {
  const report::TrialFilter filter{report::resolve_sweep(db, o.sweep), o.where};
  report::SelectionSpec selection;
  if (!o.tune.empty()) selection.tune = o.tune;
  selection.select_on = o.select_on;
  if (!o.metric.empty()) selection.metric = o.metric;
  report::Figure figure = report::paper_figure(db, filter, o.table, selection);
  report::ValueTable table = std::move(figure.table);
  if (!figure.skipped.empty()) table.notes.push_back(o.table + ": " + figure.skipped);
  return table;
}

// --form long, wide or pivot.
report::ValueTable form_table(store::Database& db, const ExportOptions& o) {
  const report::TrialFilter filter{o.sweep, o.where};
  const report::ExportForm form = report::parse_export_form(o.form);
  if (form == report::ExportForm::pivot) {
    report::PivotSpec spec;
    spec.rows = comma_list(o.rows);
    spec.cols = comma_list(o.cols);
    spec.value = o.value;
    spec.aggregates = report::parse_aggregates(o.agg);
    return report::export_pivot(db, filter, spec);
  }
  report::ValueTable table = form == report::ExportForm::long_form
                                 ? report::export_long(db, filter)
                                 : report::export_wide(db, filter);
  if (o.only_changed) report::drop_constant_config_columns(table);
  return table;
}

}  // namespace

void add_export_command(CLI::App& app) {
  CLI::App* exp = app.add_subcommand(
      "export",
      "Write results as RFC 4180 CSV: --form long (trial x metric x epoch), wide (one row per "
      "trial) or pivot (aggregated over seeds), or --table figN, scaling or best (the tables of "
      "the report's figures)");
  auto o = std::make_shared<ExportOptions>();
  exp->add_option("--db", o->db, "Results database")->capture_default_str();
  exp->add_option("-o,--output", o->output, "CSV file to write (default: stdout)");
  auto* form = exp->add_option("--form", o->form, "long, wide or pivot")->capture_default_str();
  exp->add_option("--sweep", o->sweep, "Only this sweep's trials (default: every sweep)");
  exp->add_option("--where", o->where,
                  "SQL expression over the results view's columns, e.g. \"attn = 'relu' AND alpha "
                  ">= 0.5\"");
  exp->add_flag("--only-changed", o->only_changed,
                "long, wide: drop config columns that are the same in every exported row");
  exp->add_option("--precision", o->precision,
                  "Significant digits for real numbers (default: every digit)")
      ->check(CLI::Range(1, 17));
  exp->add_option("--rows", o->rows, "pivot: key(s) for rows, comma-separated, e.g. alpha");
  exp->add_option("--cols", o->cols, "pivot: key(s) for column groups, e.g. attn");
  exp->add_option("--value", o->value, "pivot: the metric to aggregate")->capture_default_str();
  exp->add_option("--agg", o->agg, "pivot: aggregates, from mean,std,n,min,max (std: sample, n-1)")
      ->capture_default_str();
  exp->add_option("--table", o->table,
                  "fig1, fig2, fig3, fig4, scaling or best: the table of a figure (see README)")
      ->excludes(form);
  exp->add_option("--tune", o->tune, "--table best: the key to pick the best value of (alpha)");
  exp->add_option("--select-on", o->select_on,
                  "--table best, scaling: the metric that picks (default: val_acc when stored, "
                  "else test_acc)");
  exp->add_option("--metric", o->metric,
                  "--table best, scaling: the metric reported at the value picked (test_acc)");
  exp->callback([o] {
    check_export_options(*o);
    store::ResultsStore store(o->db, store::Database::Access::read_only);
    const report::ValueTable table =
        o->table.empty() ? form_table(store.db(), *o) : figure_table(store.db(), *o);
    write_output(o->output, report::format_csv(table, o->precision));
    print_notes(table);
  });
}

void add_report_command(CLI::App& app) {
  CLI::App* rep = app.add_subcommand(
      "report",
      "Write a sweep's figures (SVG: the paper's Fig. 1-4 as the sweep was designed for them, the "
      "scaling figure, the best alpha per setting, training curves) with their tables and an "
      "index.html to open in a browser");
  struct Options {
    std::string db = kDefaultDb, sweep, output;
  };
  auto o = std::make_shared<Options>();
  rep->add_option("--sweep", o->sweep, "The sweep (optional when the database holds only one)");
  rep->add_option("-o,--output", o->output, "Folder to write index.html and the figures into")
      ->required();
  rep->add_option("--db", o->db, "Results database")->capture_default_str();
  rep->callback([o] {
    store::ResultsStore store(o->db, store::Database::Access::read_only);
    const std::string sweep = report::resolve_sweep(store.db(), o->sweep);
    const report::ReportFiles files = report::write_report(store.db(), sweep, o->output);
    fmt::print("{}: {} figure{} in {}\n", sweep, files.figures.size(),
               files.figures.size() == 1 ? "" : "s", files.index);
    for (const auto& skipped : files.skipped) fmt::print("  skipped {}\n", skipped);
  });
}

}  // namespace vitsweep::cli
