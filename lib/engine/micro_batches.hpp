// A training batch run as micro-batches: forward and backward over a few images at a time, the
// gradients of each added to the last, so that one pass's activations stay in the core's caches.
//
// The optimizer still takes one step per batch, on the gradient of the batch's mean loss: only
// the order of the sums differs (as with threads or ranks), so a trial's identity does not change.
// At batch 128 one pass's activations outgrow the L2 (nano/4: 3.1 MiB in each buffer of MLP hidden
// activation, per block), so each operation reads its input back from L3 or memory. Measured at 1
// thread (README, Performance): a step takes 0.74x the time of one pass at nano/4 (relu), 0.85x at
// micro/4.
#pragma once

#include <cstdint>

#include "engine/loss.hpp"
#include "engine/model_shape.hpp"
#include "engine/vit.hpp"

namespace vitsweep::engine {

// Images per micro-batch for `batch` images on `threads` threads (0 counts as 1): on one thread,
// as many as keep one buffer of the MLP's hidden activation (the largest a pass writes) within
// 512 KiB, or 256 KiB for a model of more than 256 KiB of parameters, at least one and at most
// the batch. A fixed budget, not the cache size of the machine at hand, so that a trial on one
// thread computes the same sums wherever it runs.
//
// The smaller budget is micro's (0.8 MiB of parameters: 5 images a pass at micro/4 where 512 KiB
// gave 10). Measured at 1 thread on an AMD EPYC (family 26, 1 MiB L2; README, Performance): a
// 40-step micro/4 bench took 0.87-0.88x the time with it, a 1-epoch micro/4 trial 0.91-0.94x;
// nano/4's step is flat from 4 to 20 images, and the reduced Fig. 2 sweep (nano) took 1.04-1.06x
// the time with 256 KiB, so nano keeps 512 KiB (and its trials their bits). Why micro gains and
// nano does not was not measured; micro's passes re-read 6.7x nano's weights and gradients.
//
// The whole batch in one pass on more than one thread, and for models of more than 1 MiB of
// parameters (mini and larger; nano has 0.12 MiB, micro 0.8). At 2 threads (41 images a pass at
// nano/4 with the budget doubled, 20 at micro/4) the passes' parallel loops cost more than the
// cache gave back: 1.13x the time of one pass at nano/4 relu, 1.06x at micro/4 (README,
// Performance). Larger models: every pass reads every weight and adds into every gradient, and
// the split was measured to help only at nano and micro.
int64_t micro_batch_images(const ModelShape& shape, int64_t batch, int threads);

// Forward, loss and backward of `batch` images in micro-batches of `micro`: the model's gradients
// become those of the batch's mean loss, and the result is the batch's mean loss and its number
// correct. A micro-batch whose loss is not finite ends the batch there, with that loss (the step
// must not be taken). d_logits: scratch for [micro, classes].
LossResult train_on_batch(VisionTransformer& model, LossKind loss, double label_smoothing,
                          const float* images, const int32_t* labels, int64_t batch, int64_t micro,
                          float* d_logits);

}  // namespace vitsweep::engine
