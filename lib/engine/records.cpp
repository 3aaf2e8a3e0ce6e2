#include "engine/records.hpp"

#include <cmath>

namespace vitsweep::engine {

namespace {

OrderedJson number_or_null(double value) {
  return std::isfinite(value) ? OrderedJson(value) : OrderedJson(nullptr);
}

double number_or_nan(const Json& json, const char* key) {
  if (!json.contains(key) || !json[key].is_number()) return kNotMeasured;
  return json[key].get<double>();
}

}  // namespace

OrderedJson to_json(const Evaluation& e) {
  return {{"loss", number_or_null(e.loss)}, {"accuracy", number_or_null(e.accuracy)},
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
          {"seconds", r.seconds},
          {"images_per_second", r.images_per_second}};
}

OrderedJson to_json(const EpochProgress& p) {
  return {{"epoch", p.epoch},     {"steps", p.steps}, {"loss_sum", p.loss_sum},
          {"correct", p.correct}, {"seen", p.seen},   {"lr", p.lr},
          {"seconds", p.seconds}};
}

OrderedJson to_json(const PartialEpoch& p) {
  OrderedJson out = to_json(p.record);
  out["steps_in_epoch"] = p.steps_in_epoch;
  return out;
}

OrderedJson to_json(const TrialOutcome& o) {
  OrderedJson epochs = OrderedJson::array();
  for (const auto& e : o.epochs) epochs.push_back(to_json(e));
  return {{"status", o.status},
          {"message", o.message},
          {"diverged_step", o.diverged_step},
          {"steps", o.steps},
          {"epochs_done", o.epochs_done},
          {"final_test", to_json(o.final_test)},
          {"final_val", to_json(o.final_val)},
          {"wall_seconds", o.wall_seconds},
          {"core_seconds", o.core_seconds},
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
  r.seconds = number_or_nan(json, "seconds");
  r.images_per_second = number_or_nan(json, "images_per_second");
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
  p.seconds = json.value("seconds", 0.0);
  return p;
}

PartialEpoch partial_epoch_from_json(const Json& json) {
  return {epoch_record_from_json(json), json.value("steps_in_epoch", int64_t{0})};
}

}  // namespace vitsweep::engine
