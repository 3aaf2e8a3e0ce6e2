// Student's t distribution, for confidence intervals of means over a few seeds: the CDF through
// the regularized incomplete beta function, and the quantile by bisection on the CDF.
#pragma once

namespace vitsweep::report {

// P(T <= t) for T ~ Student's t with `dof` > 0 degrees of freedom.
double student_t_cdf(double t, double dof);

// The t with P(T <= t) = p, for p in (0, 1); e.g. student_t_quantile(0.975, 4) = 2.7764 (the
// half-width of a 95% interval from 5 values, in standard errors).
double student_t_quantile(double p, double dof);

// I_x(a, b), the regularized incomplete beta function, for x in [0, 1] and a, b > 0.
double regularized_incomplete_beta(double x, double a, double b);

}  // namespace vitsweep::report
