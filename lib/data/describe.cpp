#include "data/describe.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/text.hpp"

namespace vitsweep::data {
namespace {

struct NamedSplit {
  const char* name;
  const Split& split;
};

std::vector<NamedSplit> named_splits(const Dataset& dataset) {
  return {{"train", dataset.train}, {"val", dataset.val}, {"test", dataset.test}};
}

// "6000 per class" when balanced; otherwise the counts, or their range when there are many.
std::string summarize_counts(const std::vector<int64_t>& counts) {
  if (counts.empty()) return "";
  const auto [least, most] = std::minmax_element(counts.begin(), counts.end());
  if (*least == *most) return fmt::format("{} per class", *least);
  if (counts.size() <= 10) return fmt::format("per class {}", fmt::join(counts, " "));
  return fmt::format("{} to {} per class", *least, *most);
}

std::string format_channel_values(const std::vector<float>& values) {
  std::vector<std::string> texts;
  for (const float v : values) texts.push_back(fmt::format("{:.4f}", v));
  return join(texts, " ");
}

}  // namespace

std::vector<int64_t> class_counts(const Split& split, int64_t classes) {
  std::vector<int64_t> counts(static_cast<size_t>(std::max<int64_t>(classes, 0)), 0);
  for (const int32_t label : split.labels) {
    if (label >= 0 && label < classes) ++counts[static_cast<size_t>(label)];
  }
  return counts;
}

OrderedJson describe_dataset(const Dataset& dataset) {
  OrderedJson json;
  json["dataset"] = dataset.name;
  json["image"] = {{"channels", dataset.image.channels},
                   {"height", dataset.image.height},
                   {"width", dataset.image.width}};
  json["classes"] = dataset.image.classes;
  OrderedJson splits = OrderedJson::object();
  for (const auto& [name, split] : named_splits(dataset)) {
    splits[name] = {{"count", split.count},
                    {"class_counts", class_counts(split, dataset.image.classes)}};
  }
  json["splits"] = splits;
  json["normalization"] = {{"mean", dataset.norm.mean}, {"std", dataset.norm.std}};
  json["load_seconds"] = dataset.load_seconds;
  json["files"] = dataset.files;
  return json;
}

std::string format_dataset_info(const Dataset& dataset) {
  const ImageSpec& image = dataset.image;
  std::vector<std::pair<std::string, std::string>> rows;
  rows.emplace_back("dataset",
                    fmt::format("{}: {}x{}x{} images (CxHxW), {} classes", dataset.name,
                                image.channels, image.height, image.width, image.classes));
  for (const auto& [name, split] : named_splits(dataset)) {
    const std::string classes = summarize_counts(class_counts(split, image.classes));
    rows.emplace_back(
        name, split.count == 0 ? "0 images" : fmt::format("{} images, {}", split.count, classes));
  }
  rows.emplace_back("mean", format_channel_values(dataset.norm.mean));
  rows.emplace_back("std", format_channel_values(dataset.norm.std));
  rows.emplace_back("load time", fmt::format("{:.2f}s", dataset.load_seconds));
  if (dataset.files.empty()) {
    rows.emplace_back("files", "none (generated)");
  } else {
    for (size_t i = 0; i < dataset.files.size(); ++i) {
      rows.emplace_back(i == 0 ? "files" : "", dataset.files[i]);
    }
  }
  size_t label_width = 0;
  for (const auto& row : rows) label_width = std::max(label_width, row.first.size());
  std::string text;
  for (const auto& [label, value] : rows) {
    text += fmt::format("{:<{}}  {}\n", label, label_width, value);
  }
  return text;
}

}  // namespace vitsweep::data
