// The MLP of one block (timm's Mlp): fc1, GELU, fc2, in PyTorch layout, forward and backward.
#pragma once

#include <cstdint>

#include "engine/matmul.hpp"
#include "engine/model_shape.hpp"
#include "engine/parameters.hpp"

namespace vitsweep::engine {

// What the forward keeps for the backward, [rows, mlp_dim] each: GELU's derivative at fc1's
// output (fc1 writes its output there, the GELU pass turns it into the derivative) and fc2's
// input gelu(fc1(xn)).
struct MlpActivations {
  float *gelu_derivative, *act;
};

// out += fc2(gelu(fc1(xn))) for xn [rows, width]: the residual add happens in fc2's matmul.
void mlp_forward(MatmulRunner& mm, const ModelShape& shape, const BlockTensors& params,
                 const float* xn, MlpActivations& acts, float* out, int64_t rows);

// From d_out (gradient of the block's residual output): d_xn and the MLP's parameter gradients
// += their gradients. d_hidden: scratch of [rows, mlp_dim].
void mlp_backward(MatmulRunner& mm, const ModelShape& shape, const BlockTensors& params,
                  BlockTensors& grads, const float* xn, const MlpActivations& acts,
                  const float* d_out, float* d_xn, float* d_hidden, int64_t rows);

}  // namespace vitsweep::engine
