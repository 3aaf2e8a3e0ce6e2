// Classification losses on logits [batch, classes], averaged over the batch, with their gradient.
#pragma once

#include <cstdint>
#include <string>

namespace vitsweep::engine {

enum class LossKind { softmax_xent, sigmoid_xent };
LossKind loss_from_name(const std::string& name);

struct LossResult {
  double loss = 0;      // mean over the batch
  int64_t correct = 0;  // argmax(logits) == label
};

// Targets are label-smoothed: (1 - eps) one_hot + eps / classes.
//   softmax_xent: mean_b  -sum_k target_k log_softmax(z)_k
//   sigmoid_xent: mean_b   sum_k BCE-with-logits(z_k, target_k)   (big_vision's sigmoid_xent)
// d_logits (may be nullptr) receives d(mean loss)/d(logits).
//
// mean_over > 0: the loss and its gradient are those of a mean over mean_over images of which
// these `batch` are a part (a micro-batch of a training batch): the sum over them divided by
// mean_over, so the parts' losses add up to the batch's mean and their gradients are the batch's.
LossResult classification_loss(LossKind kind, const float* logits, const int32_t* labels,
                               int64_t batch, int64_t classes, double label_smoothing,
                               float* d_logits, int64_t mean_over = 0);

}  // namespace vitsweep::engine
