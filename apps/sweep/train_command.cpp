// `sweep train` (one trial, in this process, or data parallel across the ranks of an MPI
// launcher: rank 0 prints and writes checkpoints) and `sweep eval` (a checkpoint on a split).
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>

#include "cluster/launch.hpp"
#include "cluster/mpi_replica_group.hpp"
#include "cluster/mpi_session.hpp"
#include "commands.hpp"
#include "common/error.hpp"
#include "common/interrupt.hpp"
#include "common/terminal.hpp"
#include "common/text.hpp"
#include "config/trial_config.hpp"
#include "data/dataset.hpp"
#include "engine/checkpoint.hpp"
#include "engine/threads.hpp"
#include "engine/trainer.hpp"

namespace vitsweep::cli {

namespace {

std::string percent(double fraction) {
  return std::isfinite(fraction) ? fmt::format("{:.2f}%", 100 * fraction) : "-";
}

std::string loss_text(double loss) {
  return std::isfinite(loss) ? fmt::format("{:.4f}", loss) : "-";
}

std::string describe_model(const TrialConfig& c, const engine::Trainer& t,
                           const engine::ModelShape& s, int64_t params) {
  const std::string attention = c.attn == "softmax" || c.attn == "none"
                                    ? c.attn
                                    : fmt::format("{} alpha={}", c.attn, format_number(c.alpha));
  // Without attention, heads (like qk-norm and the gate) are not part of the model.
  const std::string heads = s.attention_branch ? fmt::format(" heads {}", s.heads) : "";
  return fmt::format(
      "model: width {} depth {}{} mlp {} patch {} ({} tokens, {} pool), {:.2f}M params, "
      "{:.3f} GFLOP/img train\n"
      "attention: {}{}{}\n"
      "training: {} epochs x {} steps of {} images, {} lr {} ({}, warm-up {}), seed {}",
      s.width, s.depth, heads, s.mlp_dim, s.patch, s.tokens, c.pool, params / 1e6,
      s.training_flops_per_image() / 1e9, attention, s.qk_norm ? ", qk-norm" : "",
      s.gated ? ", gate " + c.gate : "", c.epochs, t.steps_per_epoch(), c.batch_size, c.optimizer,
      format_number(c.lr), c.schedule, c.warmup_steps, c.seed);
}

// `unfinished`: the epoch a max_steps stop left, e.g. "(4 of 117 steps)".
std::string epoch_line(const EpochRecord& r, int64_t epochs, const std::string& unfinished = "") {
  std::string line = fmt::format("epoch {:>3}/{}{}  train loss {} acc {}", r.epoch, epochs,
                                 unfinished, loss_text(r.train_loss), percent(r.train_acc));
  if (r.val.images > 0) {
    line += fmt::format("  val loss {} acc {}", loss_text(r.val.loss), percent(r.val.accuracy));
  }
  line += fmt::format("  test loss {} acc {}  {:.1f}s  {:.0f} img/s", loss_text(r.test.loss),
                      percent(r.test.accuracy), r.epoch_s, r.img_per_s);
  return line;
}

// A PyTorch state dict carries no config and no normalisation: say where they come from.
std::string pytorch_init_note(const std::string& path, const data::Dataset& dataset) {
  return fmt::format(
      "note: {} is a PyTorch state dict without vitsweep metadata: the model is the one "
      "--config/--set describe, and images are normalised with {}'s own statistics (mean "
      "[{:.4f}], std [{:.4f}])",
      path, dataset.name, fmt::join(dataset.norm.mean, ", "), fmt::join(dataset.norm.std, ", "));
}

std::string describe_ranks(const cluster::MpiSession& session, const TrialConfig& config) {
  return fmt::format(
      "data parallel: {} ranks on {} node(s), {} images each per step, {} threads each",
      session.size(), session.node_count(), config.batch_size / config.ranks, config.threads);
}

OrderedJson result_json(const TrialConfig& config, engine::Trainer& trainer,
                        const TrialOutcome& outcome, const OrderedJson& batch_losses) {
  OrderedJson out = OrderedJson::object();
  out["status"] = to_string(outcome.status);
  if (!outcome.message.empty()) out["message"] = outcome.message;
  auto number = [](double v) { return std::isfinite(v) ? OrderedJson(v) : OrderedJson(nullptr); };
  const EpochRecord* last = outcome.epochs.empty() ? nullptr : &outcome.epochs.back();
  out["test_acc"] = number(outcome.final_test.accuracy);
  out["test_loss"] = number(outcome.final_test.loss);
  out["val_acc"] = number(outcome.final_val.accuracy);
  out["val_loss"] = number(outcome.final_val.loss);
  out["train_acc"] = number(last ? last->train_acc : kNotMeasured);
  out["train_loss"] = number(last ? last->train_loss : kNotMeasured);
  out["epochs_done"] = outcome.epochs_done;
  out["steps"] = outcome.steps;
  out["wall_s"] = outcome.wall_s;
  out["core_s"] = outcome.core_s;
  out["params"] = trainer.model().parameter_count();
  out["flops_per_image"] = trainer.shape().training_flops_per_image();
  out["img_per_s"] = number(last ? last->img_per_s : kNotMeasured);
  out["config"] = to_json(config);
  out["history"] = OrderedJson::array();
  for (const auto& e : outcome.epochs) out["history"].push_back(to_json(e));
  out["partial_epoch"] =
      outcome.partial_epoch ? to_json(*outcome.partial_epoch) : OrderedJson(nullptr);
  if (!batch_losses.empty()) out["batch_losses"] = batch_losses;
  return out;
}

struct TrainOptions {
  ConfigSources sources;
  bool json = false;
  std::string save, resume, init_from;
  int64_t log_every = 0;
};

// What a training run prints: rank 0 alone speaks (the other ranks train quietly); the human
// lines go to stdout, or to stderr under --json.
struct TrainOutput {
  bool reporter = true;
  FILE* human = stdout;
  ProgressLine progress;
  void say(const std::string& line) {
    if (reporter) progress.print(human, line);
  }
};

// What is known before the first step: data, model, ranks, where a resume starts.
void print_start(TrainOutput& out, const TrialConfig& config, engine::Trainer& trainer,
                 const data::Dataset& dataset, const cluster::MpiSession& session, int threads) {
  out.say(fmt::format("data: {} ({} train, {} val, {} test) loaded in {:.2f}s; {} threads",
                      dataset.name, dataset.train.count, dataset.val.count, dataset.test.count,
                      dataset.load_seconds, threads));
  out.say(describe_model(config, trainer, trainer.shape(), trainer.model().parameter_count()));
  if (session.size() > 1) out.say(describe_ranks(session, config));
  if (const EpochProgress& at = trainer.epoch_progress(); at.steps > 0) {
    out.say(fmt::format("resumed in epoch {} at step {} ({} of its {} steps done)", at.epoch,
                        trainer.optimizer().steps(), at.steps, trainer.steps_per_epoch()));
  } else if (trainer.optimizer().steps() > 0) {
    out.say(fmt::format("resumed after epoch {} (step {})", trainer.epochs_done(),
                        trainer.optimizer().steps()));
  }
}

// The progress line and --log-every's batch losses (printed, or kept for --json).
std::function<void(const engine::StepProgress&)> step_reporter(const TrainOptions& o,
                                                               TrainOutput& out, int64_t first_step,
                                                               OrderedJson& batch_losses) {
  const auto start = std::chrono::steady_clock::now();
  return [&o, &out, first_step, &batch_losses, start](const engine::StepProgress& p) {
    if (!out.reporter) return;
    if (o.log_every > 0 && p.step % o.log_every == 0) {
      if (o.json) {
        batch_losses.push_back(OrderedJson::array({p.step, p.batch_loss}));
      } else {
        out.progress.print(out.human, fmt::format("step {}: batch loss {:.6f}  lr {:.6g}", p.step,
                                                  p.batch_loss, p.lr));
      }
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double per_step =
        elapsed / static_cast<double>(std::max<int64_t>(1, p.step - first_step));
    out.progress.update(fmt::format("epoch {}/{}  step {}/{}  loss {:.4f}  {:.0f} img/s  ETA {}",
                                    p.epoch, p.epochs, p.step_in_epoch, p.steps_per_epoch, p.loss,
                                    p.img_per_s,
                                    format_duration(per_step * (p.total_steps - p.step))));
  };
}

// The final lines, the --json object, and the exit: an error unless the run is done.
void finish_run(const TrainOptions& o, TrainOutput& out, const TrialConfig& config,
                engine::Trainer& trainer, const TrialOutcome& outcome,
                const OrderedJson& batch_losses) {
  if (o.json && out.reporter) {
    fmt::print("{}\n", result_json(config, trainer, outcome, batch_losses).dump());
  }
  if (outcome.status == TrialStatus::done) {
    if (!out.reporter) return;
    if (!outcome.message.empty()) fmt::print(out.human, "{}\n", outcome.message);
    fmt::print(out.human, "done: test acc {} (loss {}) in {}, {:.0f} core-s\n",
               percent(outcome.final_test.accuracy), loss_text(outcome.final_test.loss),
               format_duration(outcome.wall_s), outcome.core_s);
    return;
  }
  if (outcome.status == TrialStatus::killed) {
    fail("{}{}", outcome.message,
         o.save.empty() ? "" : fmt::format("; resume with --resume {}", o.save));
  }
  fail("{}", outcome.message);
}

void run_train(const TrainOptions& o) {
  if (!o.resume.empty() && !o.init_from.empty()) {
    fail_usage("--resume and --init-from cannot be combined");
  }
  // Under mpirun (or srun --mpi=pmix) every rank runs this; otherwise MPI is never touched.
  cluster::MpiSession session;
  const OrderedJson settings = merge_settings(o.sources);
  const std::string source = o.sources.file.empty() ? "config" : o.sources.file;
  TrialConfig config = parse_trial_config(settings, source);
  cluster::fit_to_session(config, settings.contains("ranks"), session, source);
  std::optional<cluster::MpiReplicaGroup> replicas;
  if (session.active()) replicas.emplace(session.world());
  engine::ThreadBudget threads(static_cast<int>(config.threads));
  install_interrupt_handlers();
  TrainOutput out;
  out.reporter = session.rank() == 0;
  out.human = o.json ? stderr : stdout;
  if (out.reporter) out.progress.update(fmt::format("loading {}...", config.dataset));
  const data::Dataset dataset = data::load_dataset(config);
  engine::Trainer trainer(config, dataset, replicas ? &*replicas : nullptr);
  const std::optional<std::string> resume_note =
      o.resume.empty() ? std::nullopt : trainer.resume_from(o.resume);
  const bool from_pytorch = !o.init_from.empty() && trainer.initialize_from(o.init_from) ==
                                                        engine::WeightsSource::pytorch_state_dict;
  print_start(out, config, trainer, dataset, session, threads.threads());
  if (from_pytorch && out.reporter)
    out.progress.print(stderr, pytorch_init_note(o.init_from, dataset));
  if (resume_note && out.reporter) out.progress.print(stderr, "note: " + *resume_note);

  OrderedJson batch_losses = OrderedJson::array();
  engine::TrainerCallbacks callbacks;
  callbacks.on_step = step_reporter(o, out, trainer.optimizer().steps(), batch_losses);
  int64_t saved_step = -1;
  auto save = [&] {  // rank 0 alone writes; every rank holds the same weights
    if (out.reporter) trainer.save_checkpoint(o.save);
    saved_step = trainer.optimizer().steps();
  };
  callbacks.on_epoch = [&](const EpochRecord& r) {
    out.say(epoch_line(r, config.epochs));
    if (!o.save.empty()) save();
  };
  callbacks.should_stop = interrupt_requested;
  const TrialOutcome outcome = trainer.run(callbacks);
  out.progress.clear();
  if (const auto& partial = outcome.partial_epoch) {
    out.say(epoch_line(
        partial->record, config.epochs,
        fmt::format(" ({} of {} steps)", partial->steps_in_epoch, trainer.steps_per_epoch())));
  }
  // At the end too, so that a stop inside an epoch resumes at its step and max_steps=0 exports
  // the initialisation; never the weights of a diverged run.
  if (!o.save.empty() && outcome.status != TrialStatus::diverged) {
    if (saved_step != trainer.optimizer().steps()) save();
    out.say(fmt::format("checkpoint: {} (step {}, {} finished epochs)", o.save, saved_step,
                        trainer.epochs_done()));
  }
  finish_run(o, out, config, trainer, outcome, batch_losses);
}

}  // namespace

void add_train_command(CLI::App& app) {
  CLI::App* train = app.add_subcommand(
      "train",
      "Train one trial in this process, printing per-epoch train/test loss and accuracy.\n"
      "Settings come from --config and --set (see 'sweep config keys'). Example:\n"
      "  sweep train --set attn=relu --set alpha=1 --set epochs=10");
  auto o = std::make_shared<TrainOptions>();
  train->add_option("--config", o->sources.file, "JSON file of key: value settings")
      ->check(CLI::ExistingFile);
  train->add_option("--set", o->sources.settings,
                    "KEY=VALUE override (repeatable; wins over --config)");
  train->add_flag(
      "--json", o->json,
      "Print one JSON object with the final metrics on stdout (progress goes to stderr)");
  train->add_option("--save", o->save,
                    "Checkpoint (safetensors) written after every epoch and at the end (also "
                    "inside an epoch, at a max_steps stop or an interrupt; max_steps=0 writes "
                    "the initial weights); the optimizer state goes beside it in "
                    "NAME.optim.safetensors");
  train
      ->add_option("--resume", o->resume,
                   "Continue from a checkpoint written by --save, at its step (same config; "
                   "max_steps may change, epochs only under schedule=constant)")
      ->check(CLI::ExistingFile);
  train
      ->add_option("--init-from", o->init_from,
                   "Start from the weights of a checkpoint written by --save, or of a PyTorch "
                   "state dict under timm's names (model from --config/--set); fresh optimizer "
                   "and schedule")
      ->check(CLI::ExistingFile);
  train
      ->add_option("--log-every", o->log_every,
                   "Also print the batch loss every N optimizer steps (with --json: the list "
                   "batch_losses of [step, loss] pairs)")
      ->check(CLI::NonNegativeNumber);
  train->callback([o] { run_train(*o); });
}

void add_eval_command(CLI::App& app) {
  CLI::App* eval = app.add_subcommand(
      "eval", "Evaluate a checkpoint: loss and accuracy on a split of its data set");
  struct Options {
    std::string checkpoint;
    std::string split = "test";
    std::string data_dir;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  eval->add_option("--checkpoint", o->checkpoint, "Checkpoint written by 'sweep train --save'")
      ->required()
      ->check(CLI::ExistingFile);
  eval->add_option("--split", o->split, "test, val or train")
      ->check(CLI::IsMember({"test", "val", "train"}))
      ->capture_default_str();
  eval->add_option("--data-dir", o->data_dir, "Where the data set is, if not where it was trained");
  eval->add_flag("--json", o->json, "Print JSON");
  eval->callback([o] {
    const engine::SafetensorsFile file = engine::SafetensorsFile::read(o->checkpoint);
    const engine::CheckpointInfo info = engine::read_checkpoint_info(file);
    OrderedJson settings = info.config;
    if (!o->data_dir.empty()) settings["data_dir"] = o->data_dir;
    const TrialConfig config = parse_trial_config(settings, o->checkpoint);
    engine::ThreadBudget threads(static_cast<int>(config.threads));
    const data::Dataset dataset = data::load_dataset(config);
    for (size_t c = 0; c < dataset.norm.mean.size() && c < info.normalization.mean.size(); ++c) {
      if (std::abs(dataset.norm.mean[c] - info.normalization.mean[c]) > 1e-6 ||
          std::abs(dataset.norm.std[c] - info.normalization.std[c]) > 1e-6) {
        fail(
            "{}: the data set's normalisation (channel {}: mean {}, std {}) differs from the "
            "checkpoint's (mean {}, std {}): is it the same data?",
            o->checkpoint, c, dataset.norm.mean[c], dataset.norm.std[c], info.normalization.mean[c],
            info.normalization.std[c]);
      }
    }
    engine::Trainer trainer(config, dataset);
    engine::load_weights(file, trainer.model());
    const data::Split& split = o->split == "test"  ? dataset.test
                               : o->split == "val" ? dataset.val
                                                   : dataset.train;
    if (split.count == 0) fail("the {} split is empty (val needs val_fraction > 0)", o->split);
    const Evaluation e = trainer.evaluate(split);
    if (o->json) {
      fmt::print("{}\n", OrderedJson{{"split", o->split},
                                     {"images", e.images},
                                     {"loss", e.loss},
                                     {"accuracy", e.accuracy},
                                     {"epochs_trained", info.epochs_done},
                                     {"steps_trained", info.step}}
                             .dump());
    } else {
      fmt::print("{} split: {} images  loss {}  accuracy {}  (after {} epochs, step {})\n",
                 o->split, e.images, loss_text(e.loss), percent(e.accuracy), info.epochs_done,
                 info.step);
    }
  });
}

}  // namespace vitsweep::cli
