#include "engine/checkpoint.hpp"

#include <set>

#include "common/error.hpp"
#include "common/version.hpp"

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

}  // namespace

std::string optimizer_state_path(const std::string& checkpoint_path) {
  const std::string suffix = ".safetensors";
  if (checkpoint_path.size() > suffix.size() &&
      checkpoint_path.compare(checkpoint_path.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return checkpoint_path.substr(0, checkpoint_path.size() - suffix.size()) + ".optim" + suffix;
  }
  return checkpoint_path + ".optim";
}

void write_checkpoint(const std::string& path, const TrialConfig& config,
                      const VisionTransformer& model, const Optimizer& optimizer,
                      const data::Normalization& normalization, int64_t epochs_done,
                      const std::vector<EpochRecord>& history) {
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
    state.write(optimizer_state_path(path));
  }
  SafetensorsWriter weights;
  for (const TensorInfo& t : layout.tensors()) {
    weights.add_f32(t.name, t.shape, model.parameters().data() + t.offset);
  }
  OrderedJson history_json = OrderedJson::array();
  for (const auto& record : history) history_json.push_back(to_json(record));
  weights.set_metadata("format", kWeightsFormat);
  weights.set_metadata("config", to_json(config).dump());
  weights.set_metadata("normalization",
                       OrderedJson{{"mean", normalization.mean}, {"std", normalization.std}}.dump());
  weights.set_metadata("epochs_done", std::to_string(epochs_done));
  weights.set_metadata("step", step);
  weights.set_metadata("history", history_json.dump());
  weights.set_metadata("commit", build_info().git_commit);
  weights.write(path);
}

CheckpointInfo read_checkpoint_info(const SafetensorsFile& file) {
  const std::string& format = file.metadata_value("format");
  if (format != kWeightsFormat) {
    fail("{}: not a vitsweep checkpoint: __metadata__.format is \"{}\", expected \"{}\"",
         file.name(), format, kWeightsFormat);
  }
  CheckpointInfo info;
  auto parse = [&](const std::string& key) {
    Json json = Json::parse(file.metadata_value(key), nullptr, false);
    if (json.is_discarded()) fail("{}: __metadata__.{} is not valid JSON", file.name(), key);
    return json;
  };
  const Json config = parse("config");
  if (!config.is_object()) fail("{}: __metadata__.config is not a JSON object", file.name());
  info.config = OrderedJson::parse(config.dump());
  const Json norm = parse("normalization");
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
  const Json history = parse("history");
  if (!history.is_array()) fail("{}: __metadata__.history is not a list", file.name());
  for (const auto& record : history) info.history.push_back(epoch_record_from_json(record));
  return info;
}

void load_weights(const SafetensorsFile& file, VisionTransformer& model) {
  const ParameterLayout& layout = model.layout();
  std::set<std::string> expected;
  for (const TensorInfo& t : layout.tensors()) {
    expected.insert(t.name);
    if (file.find(t.name) == nullptr) {
      fail("{}: missing tensor '{}' that this model needs (was it trained with another "
           "config?)",
           file.name(), t.name);
    }
    file.copy_f32(t.name, t.shape, model.parameters().data() + t.offset);
  }
  for (const auto& t : file.tensors()) {
    if (!expected.contains(t.name)) {
      fail("{}: tensor '{}' does not belong to this model (was it trained with another config?)",
           file.name(), t.name);
    }
  }
}

void load_optimizer_state(const std::string& checkpoint_path, Optimizer& optimizer,
                          const ParameterLayout& layout, int64_t expected_step) {
  const SafetensorsFile file = SafetensorsFile::read(optimizer_state_path(checkpoint_path));
  if (file.metadata_value("format") != kOptimizerFormat) {
    fail("{}: not a vitsweep optimizer state (format \"{}\")", file.name(),
         file.metadata_value("format"));
  }
  if (file.metadata_value("optimizer") != optimizer.settings().kind) {
    fail("{}: optimizer state is for {}, this run uses {}", file.name(),
         file.metadata_value("optimizer"), optimizer.settings().kind);
  }
  const int64_t step = integer_metadata(file, "step");
  if (step != expected_step) {
    fail("{}: optimizer state is from step {}, the weights from step {}: the pair is mismatched",
         file.name(), step, expected_step);
  }
  const auto prefixes = moment_prefixes(optimizer.settings().kind);
  for (const TensorInfo& t : layout.tensors()) {
    file.copy_f32(prefixes[0] + t.name, t.shape, optimizer.first_moment().data() + t.offset);
    if (prefixes.size() > 1) {
      file.copy_f32(prefixes[1] + t.name, t.shape, optimizer.second_moment().data() + t.offset);
    }
  }
  optimizer.set_steps(step);
}

void check_resume_compatible(const OrderedJson& checkpoint_config, const TrialConfig& config,
                             const std::string& path) {
  static const std::set<std::string> may_differ = {"epochs", "max_steps", "threads", "data_dir"};
  const OrderedJson current = to_json(config);
  for (const auto& [key, value] : current.items()) {
    if (may_differ.contains(key)) continue;
    if (!checkpoint_config.contains(key)) {
      fail("{}: checkpoint config has no key '{}' (written by another version?)", path, key);
    }
    const OrderedJson& stored = checkpoint_config[key];
    const bool same = (stored.is_number() && value.is_number())
                          ? stored.get<double>() == value.get<double>()
                          : stored == value;
    if (!same) {
      fail("{}: cannot resume: the checkpoint was trained with {}={}, this run has {}={}", path, key,
           stored.dump(), key, value.dump());
    }
  }
}

}  // namespace vitsweep::engine
