#include "engine/linear.hpp"

#include "engine/elementwise.hpp"

namespace vitsweep::engine {

void linear_forward(MatmulRunner& mm, const float* x, const float* weight, const float* bias,
                    float* y, int64_t rows, int64_t in, int64_t out, bool accumulate) {
  // oneDNN reads W [out, in] row-major as the transposed view [in, out].
  mm.run(matrix(y, rows, out), matrix(const_cast<float*>(x), rows, in),
         matrix(const_cast<float*>(weight), out, in).t(), {.bias = bias, .accumulate = accumulate});
}

void linear_backward(MatmulRunner& mm, const float* dy, const float* x, const float* weight,
                     float* dx, float* dweight, float* dbias, int64_t rows, int64_t in,
                     int64_t out, bool accumulate_dx) {
  float* dy_mut = const_cast<float*>(dy);
  if (dx != nullptr) {
    mm.run(matrix(dx, rows, in), matrix(dy_mut, rows, out),
           matrix(const_cast<float*>(weight), out, in), {.accumulate = accumulate_dx});
  }
  mm.run(matrix(dweight, out, in), matrix(dy_mut, rows, out).t(),
         matrix(const_cast<float*>(x), rows, in));
  if (dbias != nullptr) column_sums(dy, rows, out, dbias);
}

}  // namespace vitsweep::engine
