#include "engine/benchmark.hpp"

#include <algorithm>
#include <chrono>

#include "common/random.hpp"
#include "engine/loss.hpp"
#include "engine/matmul.hpp"
#include "engine/optimizer.hpp"
#include "engine/vit.hpp"

namespace vitsweep::engine {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

const std::vector<BenchmarkCase>& benchmark_cases() {
  static const std::vector<BenchmarkCase> cases = {
      {"fmnist-mini",
       {{"dataset", "fashion-mnist"}, {"model", "mini/4"}, {"batch_size", 128}}},
      {"S/16-224",
       {{"dataset", "synthetic"}, {"synthetic_size", 224}, {"synthetic_channels", 3},
        {"synthetic_classes", 1000}, {"model", "S/16"}, {"batch_size", 16}}},
      {"S/8-224",
       {{"dataset", "synthetic"}, {"synthetic_size", 224}, {"synthetic_channels", 3},
        {"synthetic_classes", 1000}, {"model", "S/8"}, {"batch_size", 4}}},
  };
  return cases;
}

double measure_gemm_ceiling_gflops(int size, int repeats) {
  MatmulRunner mm;
  std::vector<float> a(static_cast<size_t>(size) * size, 0.5f), b(a.size(), 0.25f), c(a.size());
  auto run = [&] { mm.run(matrix(c.data(), size, size), matrix(a.data(), size, size), matrix(b.data(), size, size)); };
  for (int i = 0; i < 3; ++i) run();
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const double t0 = now_seconds();
    run();
    best = std::min(best, now_seconds() - t0);
  }
  return 2.0 * size * size * static_cast<double>(size) / best / 1e9;
}

OrderedJson benchmark_training(const BenchmarkCase& bench, const std::string& attn,
                               const BenchmarkOptions& options) {
  OrderedJson settings = bench.settings;
  settings["attn"] = attn;
  const TrialConfig config = parse_trial_config(settings, bench.name);
  const ModelShape shape = ModelShape::from_config(config);
  MatmulRunner mm;
  VisionTransformer model(shape, mm);
  model.initialize(1);
  OptimizerSettings optimizer_settings;
  optimizer_settings.weight_decay = config.weight_decay;
  optimizer_settings.clip_norm = config.clip_norm;
  Optimizer optimizer(model.layout(), optimizer_settings);

  const int64_t batch = config.batch_size;
  const int64_t image_floats = shape.channels * shape.image_height * shape.image_width;
  std::vector<float> images(static_cast<size_t>(batch * image_floats));
  Random random(7);
  for (float& x : images) x = static_cast<float>(random.normal());
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (auto& label : labels) label = static_cast<int32_t>(random.below(shape.classes));
  std::vector<float> d_logits(static_cast<size_t>(batch * shape.classes));
  const LossKind loss_kind = loss_from_name(config.loss);

  auto step = [&] {
    const float* logits = model.forward(images.data(), batch);
    classification_loss(loss_kind, logits, labels.data(), batch, shape.classes, 0.0,
                        d_logits.data());
    model.backward(d_logits.data());
    const double t0 = now_seconds();
    optimizer.step(model.parameters().data(), model.gradients().data(), 1e-4);
    if (model.times().enabled) {
      model.times().seconds[static_cast<size_t>(Phase::optimizer)] += now_seconds() - t0;
    }
  };
  for (int i = 0; i < options.warmup_steps; ++i) step();
  model.times().enabled = true;
  model.times().reset();
  std::vector<double> step_seconds;
  for (int i = 0; i < options.steps; ++i) {
    const double t0 = now_seconds();
    step();
    step_seconds.push_back(now_seconds() - t0);
  }
  model.times().enabled = false;
  double total = 0;
  for (double s : step_seconds) total += s;
  const double mean = total / options.steps;
  std::sort(step_seconds.begin(), step_seconds.end());
  const double median = step_seconds[step_seconds.size() / 2];
  const double flops_per_step = shape.training_flops_per_image() * batch;

  OrderedJson phases = OrderedJson::object();
  for (size_t p = 0; p < static_cast<size_t>(Phase::count); ++p) {
    phases[phase_name(static_cast<Phase>(p))] = 1e3 * model.times().seconds[p] / options.steps;
  }
  return {{"name", bench.name},
          {"attn", attn},
          {"batch", batch},
          {"tokens", shape.tokens},
          {"width", shape.width},
          {"depth", shape.depth},
          {"params", model.parameter_count()},
          {"steps", options.steps},
          {"ms_per_step", 1e3 * mean},
          {"ms_per_step_median", 1e3 * median},
          {"img_per_s", batch / median},
          {"gflop_per_step", flops_per_step / 1e9},
          {"achieved_gflops", flops_per_step / median / 1e9},
          {"phases_ms", phases}};
}

}  // namespace vitsweep::engine
