// The engine against the independent PyTorch twin (tests/reference): logits, loss and every
// gradient at the fixture's weights, then three optimizer updates (learning rates, gradient
// norms, losses, final weights), with each attention kernel (fused and matmul). Fixtures are
// computed in float64; tolerances are documented in tests/reference/README.md.
// VITSWEEP_TWIN_FIXTURES points at another folder of fixtures (the live test regenerates them with
// torch and runs this program on them).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/loss.hpp"
#include "engine/optimizer.hpp"
#include "engine/safetensors.hpp"
#include "engine/schedule.hpp"
#include "engine/vit.hpp"

namespace vitsweep::engine {
namespace {

std::string fixture_folder() {
  const char* override_folder = std::getenv("VITSWEEP_TWIN_FIXTURES");
  return override_folder ? override_folder : VITSWEEP_SOURCE_DIR "/tests/fixtures/twin";
}

std::vector<std::string> fixture_cases() {
  std::vector<std::string> cases;
  if (!std::filesystem::is_directory(fixture_folder())) return cases;
  for (const auto& entry : std::filesystem::directory_iterator(fixture_folder())) {
    if (entry.path().extension() == ".safetensors") cases.push_back(entry.path().stem().string());
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::abs(x)));
  return m;
}

// A fixture and the attention kernel (attn_kernel) to run it with: both must match the twin.
struct TwinCase {
  std::string fixture;
  std::string kernel;
};

std::vector<TwinCase> twin_cases() {
  std::vector<TwinCase> cases;
  for (const auto& fixture : fixture_cases()) {
    for (const char* kernel : {"fused", "matmul"}) cases.push_back({fixture, kernel});
  }
  return cases;
}

class TwinFixture : public ::testing::TestWithParam<TwinCase> {};

TEST(TwinFixtures, FolderHoldsTheRequiredCases) {
  const auto cases = fixture_cases();
  for (const char* required :
       {"softmax", "relu_alpha1", "relu2_alpha05_qknorm", "gelu_gate_silu", "sigmoid_cls"}) {
    EXPECT_NE(std::find(cases.begin(), cases.end(), required), cases.end())
        << required << " missing from " << fixture_folder();
  }
}

TEST_P(TwinFixture, MatchesPyTorch) {
  const SafetensorsFile file =
      SafetensorsFile::read(fixture_folder() + "/" + GetParam().fixture + ".safetensors");
  OrderedJson fixture_settings = OrderedJson::parse(file.metadata_value("config"));
  fixture_settings["attn_kernel"] = GetParam().kernel;
  const TrialConfig config = parse_trial_config(fixture_settings, file.name());
  const ModelShape shape = ModelShape::from_config(config);
  MatmulRunner mm;
  VisionTransformer model(shape, mm);
  for (const TensorInfo& t : model.layout().tensors()) {
    file.copy_f32(t.name, t.shape, model.parameters().data() + t.offset);
  }
  const std::vector<float> images = file.f32("input.images");
  std::vector<int32_t> labels;
  for (int64_t label : file.integers("input.labels")) labels.push_back(static_cast<int32_t>(label));
  const int64_t batch = static_cast<int64_t>(labels.size());
  const LossKind loss_kind = loss_from_name(config.loss);
  std::vector<float> d_logits(static_cast<size_t>(batch * shape.classes));

  // Forward: relative errors of a float32 engine are ~1e-6.
  const float* logits = model.forward(images.data(), batch);
  const std::vector<float> want_logits = file.f32("output.logits");
  const double logit_scale = max_abs(want_logits);
  for (size_t i = 0; i < want_logits.size(); ++i) {
    EXPECT_NEAR(logits[i], want_logits[i], 1e-5 * logit_scale) << "logit " << i;
  }
  const LossResult loss =
      classification_loss(loss_kind, logits, labels.data(), batch, shape.classes,
                          config.label_smoothing, d_logits.data());
  const double want_loss = file.f32("output.loss")[0];
  EXPECT_NEAR(loss.loss, want_loss, 1e-5 * std::abs(want_loss));

  // Backward: every gradient within 1e-5 of the largest gradient entry.
  model.backward(d_logits.data());
  double grad_scale = 0;
  for (const TensorInfo& t : model.layout().tensors()) {
    grad_scale = std::max(grad_scale, max_abs(file.f32("grad." + t.name)));
  }
  for (const TensorInfo& t : model.layout().tensors()) {
    const std::vector<float> want = file.f32("grad." + t.name);
    const float* got = model.gradients().data() + t.offset;
    for (int64_t i = 0; i < t.size; ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-5 * grad_scale) << "grad." << t.name << "[" << i << "]";
    }
  }

  // Three updates on the same batch.
  Optimizer optimizer(model.layout(), OptimizerSettings::from_config(config));
  Schedule schedule{config.schedule, config.lr, config.warmup_steps,
                    std::stoll(file.metadata_value("total_steps"))};
  const std::vector<float> want_losses = file.f32("train.losses");
  const std::vector<float> loss_tolerance = file.f32("tol.train.losses");
  const std::vector<float> want_lr = file.f32("train.lr");
  const std::vector<float> want_norm = file.f32("train.grad_norm");
  for (int64_t t = 0; t < 3; ++t) {
    const float* z = model.forward(images.data(), batch);
    const LossResult r = classification_loss(loss_kind, z, labels.data(), batch, shape.classes,
                                             config.label_smoothing, d_logits.data());
    EXPECT_NEAR(r.loss, want_losses[t], loss_tolerance[t]) << "loss before update " << t;
    model.backward(d_logits.data());
    const double lr = learning_rate(schedule, t);
    EXPECT_NEAR(lr, want_lr[t], 1e-7 * want_lr[t]) << "learning rate of update " << t;
    const double norm = optimizer.step(model.parameters().data(), model.gradients().data(), lr);
    EXPECT_NEAR(norm, want_norm[t], 1e-5 * want_norm[t]) << "gradient norm of update " << t;
  }
  for (const TensorInfo& t : model.layout().tensors()) {
    const std::vector<float> want = file.f32("after3." + t.name);
    const std::vector<float> tolerance = file.f32("tol.after3." + t.name);
    const float* got = model.parameters().data() + t.offset;
    int mismatches = 0;
    for (int64_t i = 0; i < t.size && mismatches < 5; ++i) {
      if (std::abs(got[i] - want[i]) > tolerance[i]) {
        ++mismatches;
        ADD_FAILURE() << "after3." << t.name << "[" << i << "]: engine " << got[i] << ", torch "
                      << want[i] << ", tolerance " << tolerance[i];
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, TwinFixture, ::testing::ValuesIn(twin_cases()),
                         [](const auto& info) {
                           return info.param.fixture + "_" + info.param.kernel;
                         });

}  // namespace
}  // namespace vitsweep::engine
