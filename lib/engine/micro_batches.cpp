#include "engine/micro_batches.hpp"

#include <algorithm>
#include <cmath>

#include "engine/parameters.hpp"

namespace vitsweep::engine {

namespace {
constexpr int64_t kHiddenBytes = 512 * 1024;
constexpr int64_t kHiddenBytesOfLargerModels = 256 * 1024;
constexpr int64_t kSmallModelParameterBytes = 256 * 1024;
constexpr int64_t kMaxParameterBytes = 1024 * 1024;
}  // namespace

int64_t micro_batch_images(const ModelShape& shape, int64_t batch, int threads) {
  const int64_t parameter_bytes =
      ParameterLayout(shape).total() * static_cast<int64_t>(sizeof(float));
  if (threads > 1 || parameter_bytes > kMaxParameterBytes) return std::max<int64_t>(batch, 1);
  const int64_t budget =
      parameter_bytes > kSmallModelParameterBytes ? kHiddenBytesOfLargerModels : kHiddenBytes;
  const int64_t hidden_bytes_per_image =
      shape.tokens * shape.mlp_dim * static_cast<int64_t>(sizeof(float));
  const int64_t fit = budget / hidden_bytes_per_image;
  return std::clamp<int64_t>(fit, 1, std::max<int64_t>(batch, 1));
}

LossResult train_on_batch(VisionTransformer& model, LossKind loss, double label_smoothing,
                          const float* images, const int32_t* labels, int64_t batch, int64_t micro,
                          float* d_logits) {
  const ModelShape& s = model.shape();
  const int64_t image_floats = s.channels * s.image_height * s.image_width;
  LossResult total;
  for (int64_t first = 0; first < batch; first += micro) {
    const int64_t n = std::min(micro, batch - first);
    const float* logits = model.forward(images + first * image_floats, n);
    const LossResult part = classification_loss(loss, logits, labels + first, n, s.classes,
                                                label_smoothing, d_logits, batch);
    total.correct += part.correct;
    if (!std::isfinite(part.loss)) {
      total.loss = part.loss;
      return total;
    }
    total.loss += part.loss;
    model.backward(d_logits, /*add_to_gradients=*/first > 0);
  }
  return total;
}

}  // namespace vitsweep::engine
