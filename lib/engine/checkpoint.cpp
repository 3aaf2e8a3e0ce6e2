#include "engine/checkpoint.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "engine/build_info.hpp"

namespace vitsweep::engine {

namespace {

constexpr const char* kWeightsFormat = "vitsweep.checkpoint.v1";
constexpr const char* kOptimizerFormat = "vitsweep.optimizer.v1";

std::vector<std::string> moment_prefixes(const std::string& kind) {
  if (kind == "adamw") return {"exp_avg.", "exp_avg_sq."};
  return {"momentum_buffer."};
}

int64_t integer_metadata(const SafetensorsFile& file, const std::string& key) {
  const std::string& text = file.metadata_value(key);
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  fail("{}: __metadata__.{}: expected an integer, got \"{}\"", file.name(), key, text);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// The config key that decides whether the model has tensor `name`, for errors about a file whose
// tensors do not fit the model the config describes.
std::string deciding_key(const std::string& name) {
  if (name == "cls_token") return "pool=cls has a class token, pool=gap none";
  if (name == "pos_embed") return "posemb=learned has it, posemb=sincos2d not";
  if (name.find(".attn.q_norm.") != std::string::npos ||
      name.find(".attn.k_norm.") != std::string::npos) {
    return "qk_norm=true has it";
  }
  if (name.find(".attn.gate.") != std::string::npos) return "gate=none has no gate";
  if (name.starts_with("norm.") || name.starts_with("fc_norm.")) {
    return "the engine normalises every token before pooling (norm.*); timm's fc_norm.* "
           "normalises after it (timm: fc_norm=False)";
  }
  if (name.starts_with("blocks.")) return "depth sets the number of blocks";
  return "timm's names are expected";
}

std::string shape_hint(const TensorInfo& expected, const TensorEntry& found) {
  if (expected.name == "pos_embed" && found.shape.size() == 3 &&
      found.shape[1] == expected.shape[1] + 1) {
    return "a position for the class token too: the engine has none (timm: no_embed_class=True)";
  }
  return "width, mlp_dim, patch, the image size and channels, and the classes set the shapes";
}

// The file must hold exactly the model's tensors, each with the model's shape: the first tensor
// (in the model's order) missing or of another shape, else the first extra one, is the error.
void check_fits_model(const SafetensorsFile& file, const ParameterLayout& layout) {
  std::set<std::string> expected;
  for (const TensorInfo& t : layout.tensors()) expected.insert(t.name);
  const auto& tensors = file.tensors();
  if (!tensors.empty() && std::none_of(tensors.begin(), tensors.end(),
                                       [&](const auto& t) { return expected.contains(t.name); })) {
    fail(
        "{}: none of its {} tensors has a name of this model (it has '{}', the model needs '{}' "
        "and the rest of timm's names)",
        file.name(), tensors.size(), tensors.front().name, layout.tensors().front().name);
  }
  for (const TensorInfo& t : layout.tensors()) {
    const TensorEntry* found = file.find(t.name);
    if (found == nullptr) {
      fail("{}: no tensor '{}' {}, which the model of this config needs ({})", file.name(), t.name,
           shape_text(t.shape), deciding_key(t.name));
    }
    if (found->shape != t.shape) {
      fail("{}: tensor '{}': expected shape {} from the config, found {} ({})", file.name(), t.name,
           shape_text(t.shape), shape_text(found->shape), shape_hint(t, *found));
    }
  }
  for (const auto& t : tensors) {
    if (!expected.contains(t.name)) {
      fail("{}: tensor '{}' {} is not part of the model of this config ({})", file.name(), t.name,
           shape_text(t.shape), deciding_key(t.name));
    }
  }
}

// A metadata value that holds JSON, e.g. __metadata__.config.
template <typename JsonType>
JsonType metadata_json(const SafetensorsFile& file, const std::string& key) {
  const std::string source = fmt::format("{}: __metadata__.{}", file.name(), key);
  JsonType json = parse_json_data<JsonType>(file.metadata_value(key), source);
  if (json.is_discarded()) fail("{} is not valid JSON", source);
  return json;
}

// Checks that `file` is an optimizer state for `kind` and returns its step.
int64_t optimizer_state_step(const SafetensorsFile& file, const std::string& kind) {
  if (file.metadata_value("format") != kOptimizerFormat) {
    fail("{}: not a vitsweep optimizer state (format \"{}\")", file.name(),
         file.metadata_value("format"));
  }
  if (file.metadata_value("optimizer") != kind) {
    fail("{}: optimizer state is for {}, this run uses {}", file.name(),
         file.metadata_value("optimizer"), kind);
  }
  return integer_metadata(file, "step");
}

// The optimizer file, or the pending one, whichever records `expected_step`. At a trial's first
// checkpoint a kill before the rename leaves only the pending file.
// The optimizer file or the pending one, whichever records `expected_step`. At a trial's first
// checkpoint, a kill between the weights and the rename leaves only the pending file.
SafetensorsFile matching_optimizer_state(const std::string& checkpoint_path,
                                         const std::string& kind, int64_t expected_step) {
  const std::string current = optimizer_state_path(checkpoint_path);
  const std::string pending = pending_optimizer_state_path(checkpoint_path);
  std::optional<SafetensorsFile> mismatched;
  for (const std::string& path : {current, pending}) {
    if (!std::filesystem::exists(path)) continue;
    SafetensorsFile file = SafetensorsFile::read(path);
    if (optimizer_state_step(file, kind) == expected_step) return file;
    if (!mismatched) mismatched = std::move(file);
  }
  if (!mismatched) SafetensorsFile::read(current);  // neither exists: fails, naming the file
  fail("{}: optimizer state is from step {}, the weights from step {}: the pair is mismatched",
       mismatched->name(), integer_metadata(*mismatched, "step"), expected_step);
}

}  // namespace

std::string optimizer_state_path(const std::string& checkpoint_path) {
  const std::string suffix = ".safetensors";
  if (checkpoint_path.size() > suffix.size() &&
      checkpoint_path.compare(checkpoint_path.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return checkpoint_path.substr(0, checkpoint_path.size() - suffix.size()) + ".optim" + suffix;
  }
  return checkpoint_path + ".optim";
}

std::string pending_optimizer_state_path(const std::string& checkpoint_path) {
  return optimizer_state_path(checkpoint_path) + ".pending";
}

void write_checkpoint(const std::string& path, const TrialConfig& config,
                      const VisionTransformer& model, const Optimizer& optimizer,
                      const data::Normalization& normalization, int64_t epochs_done,
                      const std::vector<EpochRecord>& history,
                      const EpochProgress& epoch_progress) {
  const ParameterLayout& layout = model.layout();
  const std::string step = std::to_string(optimizer.steps());
  {
    SafetensorsWriter state;
    const auto prefixes = moment_prefixes(optimizer.settings().kind);
    for (const TensorInfo& t : layout.tensors()) {
      state.add_f32(prefixes[0] + t.name, t.shape, optimizer.first_moment().data() + t.offset);
      if (prefixes.size() > 1) {
        state.add_f32(prefixes[1] + t.name, t.shape, optimizer.second_moment().data() + t.offset);
      }
    }
    state.set_metadata("format", kOptimizerFormat);
    state.set_metadata("optimizer", optimizer.settings().kind);
    state.set_metadata("step", step);
    state.write(pending_optimizer_state_path(path));
  }
  SafetensorsWriter weights;
  for (const TensorInfo& t : layout.tensors()) {
    weights.add_f32(t.name, t.shape, model.parameters().data() + t.offset);
  }
  OrderedJson history_json = OrderedJson::array();
  for (const auto& record : history) history_json.push_back(to_json(record));
  weights.set_metadata("format", kWeightsFormat);
  weights.set_metadata("config", to_json(config).dump());
  weights.set_metadata(
      "normalization",
      OrderedJson{{"mean", normalization.mean}, {"std", normalization.std}}.dump());
  weights.set_metadata("epochs_done", std::to_string(epochs_done));
  weights.set_metadata("step", step);
  weights.set_metadata("history", history_json.dump());
  // Only inside an epoch: a checkpoint at an epoch boundary reads as before the key existed.
  if (epoch_progress.steps > 0) {
    weights.set_metadata("epoch_progress", to_json(epoch_progress).dump());
  }
  weights.set_metadata("commit", build_info().git_commit);
  weights.write(path);
  rename_durably(pending_optimizer_state_path(path), optimizer_state_path(path));
}

WeightsSource weights_source(const SafetensorsFile& file) {
  const auto format = file.metadata().find("format");
  if (format == file.metadata().end() || format->second == "pt") {
    return WeightsSource::pytorch_state_dict;
  }
  if (format->second == kWeightsFormat) return WeightsSource::vitsweep_checkpoint;
  fail(
      "{}: __metadata__.format is \"{}\", expected \"{}\" (a vitsweep checkpoint), or \"pt\" or "
      "none (a PyTorch state dict under timm's names)",
      file.name(), format->second, kWeightsFormat);
}

std::optional<std::string> different_build_note(const std::string& path,
                                                const std::string& written_by,
                                                const std::string& this_build) {
  const auto known = [](const std::string& commit) {
    return !commit.empty() && commit != "unknown";
  };
  if (!known(written_by) || !known(this_build) || written_by == this_build) return std::nullopt;
  return fmt::format(
      "{}: written by commit {}, and this binary is {}: the epochs before the resume come from "
      "that build (results may differ in their last digits from a run on one build)",
      path, written_by, this_build);
}

CheckpointInfo read_checkpoint_info(const SafetensorsFile& file) {
  if (weights_source(file) == WeightsSource::pytorch_state_dict) {
    fail(
        "{}: a PyTorch state dict without vitsweep metadata (no trial config, normalisation or "
        "history): start from it with 'sweep train --init-from {}' and the model's keys in "
        "--config/--set (max_steps=0 only evaluates it)",
        file.name(), file.name());
  }
  CheckpointInfo info;
  info.config = metadata_json<OrderedJson>(file, "config");
  if (!info.config.is_object()) fail("{}: __metadata__.config is not a JSON object", file.name());
  const Json norm = metadata_json<Json>(file, "normalization");
  if (!norm.is_object() || !norm.contains("mean") || !norm.contains("std")) {
    fail("{}: __metadata__.normalization needs mean and std", file.name());
  }
  try {
    info.normalization.mean = norm["mean"].get<std::vector<float>>();
    info.normalization.std = norm["std"].get<std::vector<float>>();
  } catch (const Json::exception&) {
    fail("{}: __metadata__.normalization: mean and std must be lists of numbers", file.name());
  }
  info.epochs_done = integer_metadata(file, "epochs_done");
  info.step = integer_metadata(file, "step");
  const Json history = metadata_json<Json>(file, "history");
  if (!history.is_array()) fail("{}: __metadata__.history is not a list", file.name());
  try {
    for (const auto& record : history) info.history.push_back(epoch_record_from_json(record));
  } catch (const Json::exception&) {
    fail("{}: __metadata__.history: expected a list of epoch records", file.name());
  }
  if (const auto commit = file.metadata().find("commit"); commit != file.metadata().end()) {
    info.commit = commit->second;
  }
  if (file.metadata().contains("epoch_progress")) {
    const Json progress = metadata_json<Json>(file, "epoch_progress");
    if (!progress.is_object())
      fail("{}: __metadata__.epoch_progress is not an object", file.name());
    try {
      info.epoch_progress = epoch_progress_from_json(progress);
    } catch (const Json::exception&) {
      fail("{}: __metadata__.epoch_progress: expected numbers", file.name());
    }
  }
  return info;
}

void load_weights(const SafetensorsFile& file, VisionTransformer& model) {
  const ParameterLayout& layout = model.layout();
  check_fits_model(file, layout);  // before anything is copied
  for (const TensorInfo& t : layout.tensors()) {
    file.copy_as_f32(t.name, t.shape, model.parameters().data() + t.offset);
  }
}

void load_optimizer_state(const std::string& checkpoint_path, Optimizer& optimizer,
                          const ParameterLayout& layout, int64_t expected_step) {
  const SafetensorsFile file =
      matching_optimizer_state(checkpoint_path, optimizer.settings().kind, expected_step);
  const auto prefixes = moment_prefixes(optimizer.settings().kind);
  for (const TensorInfo& t : layout.tensors()) {
    file.copy_f32(prefixes[0] + t.name, t.shape, optimizer.first_moment().data() + t.offset);
    if (prefixes.size() > 1) {
      file.copy_f32(prefixes[1] + t.name, t.shape, optimizer.second_moment().data() + t.offset);
    }
  }
  optimizer.set_steps(expected_step);
}

void check_resume_compatible(const OrderedJson& checkpoint_config, const TrialConfig& config,
                             const std::string& path) {
  static const std::set<std::string> may_differ = {"max_steps", "threads", "ranks", "data_dir"};
  const OrderedJson current = to_json(config);
  const OrderedJson defaults = to_json(parse_trial_config(OrderedJson::object(), "defaults"));
  for (const auto& [key, value] : current.items()) {
    if (may_differ.contains(key) || (key == "epochs" && config.schedule == "constant")) continue;
    // In f32 the kernels are the same maths, rounded differently (not part of the identity).
    if (key == "attn_kernel" && config.precision == "f32") continue;
    if (!checkpoint_config.contains(key)) {
      // Written before the key existed: that version ran with what is now the key's default (a
      // new key's default keeps the old behaviour), so only another value is a difference.
      if (value == defaults[key]) continue;
      fail(
          "{}: cannot resume with {}={}: the checkpoint was written before '{}' existed, so it "
          "ran with the default {}",
          path, key, value.dump(), key, defaults[key].dump());
    }
    const OrderedJson& stored = checkpoint_config[key];
    const bool same = (stored.is_number() && value.is_number())
                          ? stored.get<double>() == value.get<double>()
                          : stored == value;
    if (!same && key == "epochs") {
      fail(
          "{0}: cannot resume with epochs={1}: the checkpoint's {2} learning-rate schedule decays "
          "over epochs={3}, and another length would change the rate of every remaining step; "
          "resume with --set epochs={3} (max_steps stops a run early), or start a new schedule "
          "from its weights with --init-from {0}",
          path, value.dump(), config.schedule, stored.dump());
    }
    if (!same) {
      fail("{}: cannot resume: the checkpoint was trained with {}={}, this run has {}={}", path,
           key, stored.dump(), key, value.dump());
    }
  }
}

}  // namespace vitsweep::engine
