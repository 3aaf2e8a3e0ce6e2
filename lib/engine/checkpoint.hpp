// Checkpoints PyTorch and timm users can load: a safetensors file of the weights under timm's
// names and layouts, with the trial config, the data normalisation and the training progress in
// __metadata__; the optimizer state beside it in "<name>.optim.safetensors" (PyTorch's names:
// exp_avg.<param>, exp_avg_sq.<param>, momentum_buffer.<param>), so timm's strict loading of
// the weights file sees exactly the model's tensors. The other way, load_weights also reads a bare
// PyTorch state dict under the same names (weights_source tells the two apart).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "config/trial_config.hpp"
#include "data/normalization.hpp"
#include "engine/optimizer.hpp"
#include "engine/safetensors.hpp"
#include "engine/vit.hpp"
#include "trial/records.hpp"

namespace vitsweep::engine {

// "run/model.safetensors" -> "run/model.optim.safetensors"
std::string optimizer_state_path(const std::string& checkpoint_path);

struct CheckpointInfo {
  OrderedJson config;  // every key, as trained
  std::string commit;  // of the binary that wrote it (build_info().git_commit); "" if unrecorded
  data::Normalization normalization;
  int64_t epochs_done = 0;
  int64_t step = 0;
  std::vector<EpochRecord> history;
  // The unfinished epoch the run stopped in; steps 0 (and files written before it was recorded):
  // at an epoch boundary.
  EpochProgress epoch_progress;
};

// "run/model.safetensors" -> "run/model.optim.safetensors.pending": the new optimizer state while
// write_checkpoint replaces the pair.
std::string pending_optimizer_state_path(const std::string& checkpoint_path);

// Replaces the pair so that a kill at any moment leaves one that resumes: the new optimizer state
// goes to the pending file, then the weights file (the commit point) is replaced, then the pending
// file is renamed over the optimizer file. Each step is atomic and durable, and every file
// records its step.
void write_checkpoint(const std::string& path, const TrialConfig& config,
                      const VisionTransformer& model, const Optimizer& optimizer,
                      const data::Normalization& normalization, int64_t epochs_done,
                      const std::vector<EpochRecord>& history,
                      const EpochProgress& epoch_progress = {});

// What a weights file is, by its __metadata__.format: a checkpoint this program wrote (config,
// normalisation and progress in the metadata), or a PyTorch state dict under timm's names with no
// vitsweep metadata (format "pt", as Hugging Face writes, or no format at all, as
// safetensors.torch.save_file writes). Any other format is an error naming it.
enum class WeightsSource { vitsweep_checkpoint, pytorch_state_dict };
WeightsSource weights_source(const SafetensorsFile& file);

// Reads and checks the metadata of a checkpoint's weights file.
CheckpointInfo read_checkpoint_info(const SafetensorsFile& file);

// One line for a run resuming a checkpoint that another build wrote (written_by: its commit,
// this_build: the running binary's): the epochs so far come from that build, and a resumed
// trial's bits equal an uninterrupted one's only on one build. nullopt when the two are the same
// or either is not known ("" or "unknown").
std::optional<std::string> different_build_note(const std::string& path,
                                                const std::string& written_by,
                                                const std::string& this_build);

// Copies every model tensor into `model`, checking that the file has exactly the model's tensors,
// each with the shape the model's config gives. Errors are one line naming the file, the tensor,
// expected and found, and the config key that decides it. F64, F16 and BF16 are converted.
void load_weights(const SafetensorsFile& file, VisionTransformer& model);

// Restores moments and step count from the optimizer file, or from the pending one when a kill
// came between write_checkpoint's weights and its last rename: the one whose step is
// `expected_step`, the weights'. Neither is an error (the pair is mismatched).
void load_optimizer_state(const std::string& checkpoint_path, Optimizer& optimizer,
                          const ParameterLayout& layout, int64_t expected_step);

// Keys that may differ between a checkpoint and the run resuming it (they cannot change what was
// computed so far): max_steps, threads, ranks, data_dir, and epochs under the constant schedule.
// Under a decaying schedule (cosine, linear) epochs sets the length of the decay, so another value
// would change the learning rate of every remaining step: refused, pointing to --init-from. Any
// other difference is an error naming the key and both values. A key the checkpoint lacks (it was
// written before the key existed) counts as the key's default.
void check_resume_compatible(const OrderedJson& checkpoint_config, const TrialConfig& config,
                             const std::string& path);

}  // namespace vitsweep::engine
