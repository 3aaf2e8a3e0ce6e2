// Each subcommand of `sweep` registers its options and the callback that runs it.
#pragma once

#include <CLI/CLI.hpp>

namespace vitsweep::cli {

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_config_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_plan_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_status_command(CLI::App& app);
void add_query_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_worker_command(CLI::App& app);

}  // namespace vitsweep::cli
