// Assembling a batch: copying chosen images of a split into a contiguous NCHW buffer, augmented.
#pragma once

#include <cstdint>
#include <span>

#include "config/trial_config.hpp"
#include "data/augmentation.hpp"
#include "data/dataset.hpp"

namespace vitsweep::data {

// Writes the floats of split image indices[i] into images_out (NCHW, indices.size() images) and its
// label into labels_out[i], applying `augmentation` (pass Augmentation{} for evaluation). Each
// image's augmentation depends only on (seed, epoch, indices[i]): not on the batch or the thread
// count. An index outside the split is an Error.
void gather_batch(const Split& split, const ImageSpec& image, std::span<const uint32_t> indices,
                  const Augmentation& augmentation, uint64_t seed, int64_t epoch, float* images_out,
                  int32_t* labels_out);

}  // namespace vitsweep::data
