// A small results database built through store::ResultsStore (no training): sweep "grid" with
// softmax and relu at alpha 0.5 and 1, a gate and a qk-norm variant, two seeds, one failed trial
// whose error needs CSV quoting, and one trial left running after its first epoch. Every number
// is an exact binary fraction, so golden CSV text is exact.
//
//   pos trial attn    alpha qk_norm gate seed  status   test_acc core_s
//    0  t00   softmax   -     off   none  0    done     0.75     10
//    1  t01   softmax   -     off   none  1    done     0.875    14
//    2  t02   relu     0.5    off   none  0    done     0.5       8
//    3  t03   relu     0.5    off   none  1    done     0.625     8
//    4  t04   relu     1      off   none  0    done     0.5       7
//    5  t05   relu     1      off   none  1    done     0.75      9
//    6  t06   relu     1      off   silu  0    done     0.75      9
//    7  t07   relu     1      off   silu  1    done     0.875    11
//    8  t08   relu     1      on    none  0    done     0.625    10
//    9  t09   relu     1      on    none  1    failed   (error: step 3: loss is "nan",
//    stopped\n...)
//   10  t10   relu     0.5    off   silu  0    running  (epoch 1 of 2 recorded)
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "store/results_store.hpp"
#include "support/temp_dir.hpp"

namespace vitsweep::testing {

// Times in the fixture: every record is stamped kFixtureTime (+ position).
constexpr double kFixtureTime = 1'700'000'000;

struct FixtureTrial {
  std::string attn;
  double alpha;  // ignored for softmax
  bool qk_norm;
  std::string gate;
  int seed;
  std::string status;
  double test_acc, core_s;
};

inline const std::vector<FixtureTrial>& fixture_trials() {
  static const std::vector<FixtureTrial> trials = {
      {"softmax", 0, false, "none", 0, "done", 0.75, 10},
      {"softmax", 0, false, "none", 1, "done", 0.875, 14},
      {"relu", 0.5, false, "none", 0, "done", 0.5, 8},
      {"relu", 0.5, false, "none", 1, "done", 0.625, 8},
      {"relu", 1, false, "none", 0, "done", 0.5, 7},
      {"relu", 1, false, "none", 1, "done", 0.75, 9},
      {"relu", 1, false, "silu", 0, "done", 0.75, 9},
      {"relu", 1, false, "silu", 1, "done", 0.875, 11},
      {"relu", 1, true, "none", 0, "done", 0.625, 10},
      {"relu", 1, true, "none", 1, "failed", 0, 0},
      {"relu", 0.5, false, "silu", 0, "running", 0, 0},
  };
  return trials;
}

inline const char* kFixtureError = "step 3: loss is \"nan\", stopped\nsecond line of the log";

inline EpochRecord fixture_epoch(int epoch, double final_acc) {
  EpochRecord r;
  r.epoch = epoch;
  r.step = 10 * epoch;
  r.train_loss = epoch == 1 ? 2.0 : 1.5;
  r.train_acc = epoch == 1 ? 0.25 : final_acc;
  r.test.loss = 2 - 2 * (epoch == 1 ? final_acc / 2 : final_acc);
  r.test.accuracy = epoch == 1 ? final_acc / 2 : final_acc;
  r.test.images = 64;
  r.lr = epoch == 1 ? 0.001 : 0.0005;
  r.epoch_s = 1.5;
  r.img_per_s = 100;
  return r;
}

// Records two epochs of a claimed trial (the first at half the final accuracies) and finishes it
// as done with `core_s` CPU seconds. val_acc NaN: no validation split.
inline void finish_done_trial(store::ResultsStore& store, const std::string& hash, double test_acc,
                              double val_acc, double core_s, double now) {
  TrialOutcome outcome;
  for (int epoch = 1; epoch <= 2; ++epoch) {
    EpochRecord r = fixture_epoch(epoch, test_acc);
    if (!std::isnan(val_acc)) {
      r.val.accuracy = epoch == 1 ? val_acc / 2 : val_acc;
      r.val.loss = 1;
      r.val.images = 32;
    }
    store.record_epoch(hash, r, now);
    outcome.epochs.push_back(r);
  }
  outcome.final_test = outcome.epochs.back().test;
  outcome.final_val = outcome.epochs.back().val;
  outcome.core_s = core_s;
  outcome.wall_s = core_s / 2;
  store::TrialFinish finish;
  finish.status = TrialStatus::done;
  finish.outcome = outcome;
  finish.epochs_done = 2;
  finish.params = 1000;
  finish.flops_per_image = 2e6;
  store.finish_trial(hash, finish, now);
}

// Builds the fixture database at `path` and closes it (WAL checkpointed into the file).
inline void write_fixture_database(const std::string& path) {
  store::ResultsStore store(path);
  std::vector<store::TrialToStore> trials;
  const auto& spec = fixture_trials();
  for (size_t i = 0; i < spec.size(); ++i) {
    const FixtureTrial& t = spec[i];
    OrderedJson identity = {
        {"dataset", "synthetic"}, {"width", 32}, {"patch", 4}, {"attn", t.attn}};
    if (t.attn != "softmax") identity["alpha"] = t.alpha;
    identity["qk_norm"] = t.qk_norm;
    identity["gate"] = t.gate;
    identity["epochs"] = 2;
    identity["seed"] = t.seed;
    store::TrialToStore row;
    row.hash = fmt::format("t{:02d}", i);
    row.identity = identity.dump();
    row.config = identity;
    row.position = static_cast<int64_t>(i);
    trials.push_back(row);
  }
  const store::Registration reg =
      store.register_sweep({"grid", "fixture sweep", "grid.json", OrderedJson::object()}, trials);
  const store::RunnerIdentity runner{"host:1:0", "host", 1};
  for (size_t i = 0; i < spec.size(); ++i) {
    const FixtureTrial& t = spec[i];
    const double now = kFixtureTime + static_cast<double>(i);
    const auto claim = store.claim_next_trial(reg.sweep_id, runner, now, 3600);
    const std::string hash = claim->hash;
    if (t.status == "running") {
      store.record_epoch(hash, fixture_epoch(1, 0.5), now);
      continue;
    }
    if (t.status == "failed") {
      store::TrialFinish finish;
      finish.status = TrialStatus::failed;
      finish.error = kFixtureError;
      store.finish_trial(hash, finish, now);
      continue;
    }
    finish_done_trial(store, hash, t.test_acc, NAN, t.core_s, now);
  }
}

// A copy of the fixture at `path`: built once per test program (each build fsyncs a few hundred
// times), copied for each test so tests cannot see each other's changes.
inline void build_fixture_database(const std::string& path) {
  static TempDir built;
  static const std::string original = [] {
    const std::string file = built.file("fixture.db");
    write_fixture_database(file);
    return file;
  }();
  std::filesystem::copy_file(original, path, std::filesystem::copy_options::overwrite_existing);
}

// One finished trial of a hand-made sweep (write_sweep_database).
struct StoredTrial {
  OrderedJson identity;  // the trial's identity, also stored as its config unless `config` is set
  double test_acc;
  double val_acc = NAN;  // NaN: no validation split
  double core_s = 10;
  OrderedJson config = nullptr;  // the stored config, when it holds keys the identity drops
};

// A database holding one sweep of finished trials, through the real store: 2 epochs each (the
// second with the final accuracies, the first with half of them), hashes h00, h01, ...
inline void write_sweep_database(const std::string& path, const std::string& sweep,
                                 const std::vector<StoredTrial>& spec) {
  store::ResultsStore store(path);
  std::vector<store::TrialToStore> trials;
  for (size_t i = 0; i < spec.size(); ++i) {
    store::TrialToStore row;
    row.hash = fmt::format("h{:02d}", i);
    row.identity = spec[i].identity.dump();
    row.config = spec[i].config.is_null() ? spec[i].identity : spec[i].config;
    row.position = static_cast<int64_t>(i);
    trials.push_back(row);
  }
  const store::Registration reg = store.register_sweep(
      {sweep, "hand-made sweep", sweep + ".json", OrderedJson::object()}, trials);
  const store::RunnerIdentity runner{"host:1:0", "host", 1};
  for (size_t i = 0; i < spec.size(); ++i) {
    const double now = kFixtureTime + static_cast<double>(i);
    const auto claim = store.claim_next_trial(reg.sweep_id, runner, now, 3600);
    finish_done_trial(store, claim->hash, spec[i].test_acc, spec[i].val_acc, spec[i].core_s, now);
  }
}

// Records joined with CRLF, as RFC 4180 writes them.
inline std::string crlf(const std::vector<std::string>& records) {
  std::string out;
  for (const auto& r : records) out += r + "\r\n";
  return out;
}

}  // namespace vitsweep::testing
