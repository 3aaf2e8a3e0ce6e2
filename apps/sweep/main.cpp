// `sweep`: the command-line front end. It parses arguments and prints; the work is in lib/.
// Exit codes: 0 success, 1 runtime error (one line on stderr), 2 usage error.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "commands.hpp"
#include "common/error.hpp"
#include "common/text.hpp"
#include "engine/build_info.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "sweep: train Vision Transformers with softmax or point-wise attention "
      "(L^-alpha h(q.k/sqrt(d))), sweep grids of them, and keep every result in SQLite."};
  app.set_version_flag(
      "--version", [] { return vitsweep::engine::describe(vitsweep::engine::build_info()); },
      "Print version, git commit, oneDNN version, CPU ISA and thread counts");
  app.require_subcommand(1);
  app.footer("Run 'sweep COMMAND --help' for a command's options.");
  vitsweep::cli::add_run_command(app);
  vitsweep::cli::add_plan_command(app);
  vitsweep::cli::add_status_command(app);
  vitsweep::cli::add_query_command(app);
  vitsweep::cli::add_export_command(app);
  vitsweep::cli::add_compare_command(app);
  vitsweep::cli::add_report_command(app);
  vitsweep::cli::add_train_command(app);
  vitsweep::cli::add_eval_command(app);
  vitsweep::cli::add_data_command(app);
  vitsweep::cli::add_config_command(app);
  vitsweep::cli::add_bench_command(app);
  vitsweep::cli::add_worker_command(app);
  // CLI11 reports an unknown command as "A subcommand is required": name it instead.
  std::vector<std::string> commands;
  bool known = false;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    known = known || (argc > 1 && command->get_name() == argv[1]);
    if (!command->get_group().empty()) commands.push_back(command->get_name());
  }
  if (argc > 1 && argv[1][0] != '-' && !known) {
    std::fprintf(stderr, "sweep: unknown command '%s'%s; commands: %s\n", argv[1],
                 vitsweep::did_you_mean(argv[1], commands).c_str(),
                 vitsweep::join(commands).c_str());
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "sweep: %s\nRun 'sweep --help' (or 'sweep COMMAND --help') for usage.\n",
                 e.what());
    return 2;
  } catch (const vitsweep::UsageError& e) {
    std::fprintf(stderr, "sweep: %s\n", e.what());
    return 2;
  } catch (const vitsweep::Error& e) {
    std::fprintf(stderr, "sweep: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "sweep: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sweep: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
