#include "trial/records.hpp"

#include <cmath>

namespace vitsweep {

namespace {

OrderedJson number_or_null(double value) {
  return std::isfinite(value) ? OrderedJson(value) : OrderedJson(nullptr);
}

// `old_key`: the name files written before the quantity's name was unified used.
double number_or(const Json& json, const char* key, const char* old_key, double fallback) {
  if (old_key != nullptr && !json.contains(key)) key = old_key;
  if (!json.contains(key) || !json[key].is_number()) return fallback;
  return json[key].get<double>();
}

double number_or_nan(const Json& json, const char* key, const char* old_key = nullptr) {
  return number_or(json, key, old_key, kNotMeasured);
}

}  // namespace

OrderedJson to_json(const Evaluation& e) {
  return {{"loss", number_or_null(e.loss)},
          {"accuracy", number_or_null(e.accuracy)},
          {"images", e.images}};
}

OrderedJson to_json(const EpochRecord& r) {
  return {{"epoch", r.epoch},
          {"step", r.step},
          {"train_loss", number_or_null(r.train_loss)},
          {"train_acc", number_or_null(r.train_acc)},
          {"val", to_json(r.val)},
          {"test", to_json(r.test)},
          {"lr", r.lr},
          {"epoch_s", r.epoch_s},
          {"img_per_s", r.img_per_s}};
}

OrderedJson to_json(const EpochProgress& p) {
  return {{"epoch", p.epoch}, {"steps", p.steps}, {"loss_sum", p.loss_sum}, {"correct", p.correct},
          {"seen", p.seen},   {"lr", p.lr},       {"train_s", p.train_s}};
}

OrderedJson to_json(const PartialEpoch& p) {
  OrderedJson out = to_json(p.record);
  out["steps_in_epoch"] = p.steps_in_epoch;
  return out;
}

OrderedJson to_json(const TrialOutcome& o) {
  OrderedJson epochs = OrderedJson::array();
  for (const auto& e : o.epochs) epochs.push_back(to_json(e));
  return {{"status", to_string(o.status)},
          {"message", o.message},
          {"diverged_step", o.diverged_step},
          {"steps", o.steps},
          {"epochs_done", o.epochs_done},
          {"final_test", to_json(o.final_test)},
          {"final_val", to_json(o.final_val)},
          {"wall_s", o.wall_s},
          {"core_s", o.core_s},
          {"epochs", epochs},
          {"partial_epoch", o.partial_epoch ? to_json(*o.partial_epoch) : OrderedJson(nullptr)}};
}

Evaluation evaluation_from_json(const Json& json) {
  Evaluation e;
  e.loss = number_or_nan(json, "loss");
  e.accuracy = number_or_nan(json, "accuracy");
  e.images = json.value("images", int64_t{0});
  return e;
}

EpochRecord epoch_record_from_json(const Json& json) {
  EpochRecord r;
  r.epoch = json.value("epoch", int64_t{0});
  r.step = json.value("step", int64_t{0});
  r.train_loss = number_or_nan(json, "train_loss");
  r.train_acc = number_or_nan(json, "train_acc");
  if (json.contains("val")) r.val = evaluation_from_json(json["val"]);
  if (json.contains("test")) r.test = evaluation_from_json(json["test"]);
  r.lr = number_or_nan(json, "lr");
  r.epoch_s = number_or_nan(json, "epoch_s", "seconds");
  r.img_per_s = number_or_nan(json, "img_per_s", "images_per_second");
  return r;
}

EpochProgress epoch_progress_from_json(const Json& json) {
  EpochProgress p;
  p.epoch = json.value("epoch", int64_t{0});
  p.steps = json.value("steps", int64_t{0});
  p.loss_sum = json.value("loss_sum", 0.0);
  p.correct = json.value("correct", int64_t{0});
  p.seen = json.value("seen", int64_t{0});
  p.lr = json.value("lr", 0.0);
  p.train_s = json.value("train_s", 0.0);
  return p;
}

PartialEpoch partial_epoch_from_json(const Json& json) {
  return {epoch_record_from_json(json), json.value("steps_in_epoch", int64_t{0})};
}

TrialOutcome trial_outcome_from_json(const Json& json) {
  TrialOutcome o;
  const std::string status = json.value("status", std::string("done"));
  o.status = parse_trial_status(status).value_or(TrialStatus::done);
  o.message = json.value("message", std::string());
  o.diverged_step = json.value("diverged_step", int64_t{-1});
  o.steps = json.value("steps", int64_t{0});
  o.epochs_done = json.value("epochs_done", int64_t{0});
  if (json.contains("final_test")) o.final_test = evaluation_from_json(json["final_test"]);
  if (json.contains("final_val")) o.final_val = evaluation_from_json(json["final_val"]);
  o.wall_s = number_or(json, "wall_s", "wall_seconds", 0);
  o.core_s = number_or(json, "core_s", "core_seconds", 0);
  if (json.contains("epochs")) {
    for (const auto& e : json["epochs"]) o.epochs.push_back(epoch_record_from_json(e));
  }
  if (json.contains("partial_epoch") && json["partial_epoch"].is_object()) {
    o.partial_epoch = partial_epoch_from_json(json["partial_epoch"]);
  }
  return o;
}

}  // namespace vitsweep
