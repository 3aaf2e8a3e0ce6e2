// `sweep data info`: what a data set holds, checked end to end by loading it.
#include <fmt/format.h>

#include "commands.hpp"
#include "config/trial_config.hpp"
#include "data/dataset.hpp"
#include "data/describe.hpp"

namespace vitsweep::cli {

void add_data_command(CLI::App& app) {
  CLI::App* data = app.add_subcommand("data", "Inspect data sets");
  data->require_subcommand(1);
  CLI::App* info = data->add_subcommand(
      "info",
      "Load a data set and print split sizes, image shape, class histogram, normalisation "
      "constants and load time");
  struct Options {
    std::string dataset = "fashion-mnist";
    std::string data_dir;
    std::vector<std::string> settings;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  info->add_option("--dataset", options->dataset,
                   "fashion-mnist, mnist, cifar10, cifar100 or synthetic")
      ->capture_default_str();
  info->add_option("--data-dir", options->data_dir,
                   "Directory of the data set's files (default: its standard place)");
  info->add_option("--set", options->settings,
                   "KEY=VALUE data key (val_fraction, train_subset, synthetic_size, seed, ...)");
  info->add_flag("--json", options->json, "Print JSON instead of text");
  info->callback([options] {
    ConfigSources sources;
    sources.settings = options->settings;
    sources.settings.push_back("dataset=" + options->dataset);
    if (!options->data_dir.empty()) sources.settings.push_back("data_dir=" + options->data_dir);
    // The model keys do not matter here; a patch of 1 divides any image.
    sources.settings.insert(sources.settings.begin(), "patch=1");
    const TrialConfig config = load_trial_config(sources);
    const data::Dataset dataset = data::load_dataset(config);
    if (options->json) {
      fmt::print("{}\n", data::describe_dataset(dataset).dump(2));
    } else {
      fmt::print("{}", data::format_dataset_info(dataset));
    }
  });
}

}  // namespace vitsweep::cli
