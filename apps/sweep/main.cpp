// `sweep`: the command-line front end. It parses arguments and prints; the work is in lib/.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>

#include "common/error.hpp"
#include "common/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sweep: ViT attention-ablation runner"};
  app.set_version_flag("--version", [] { return vitsweep::describe(vitsweep::build_info()); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
