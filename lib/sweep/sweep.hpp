// The sweep library in one include: sweep files (sweep_file.hpp), axis values (axis_values.hpp),
// expansion into trials (expansion.hpp) and trial identity (identity.hpp).
#pragma once

#include "sweep/axis_values.hpp"
#include "sweep/expansion.hpp"
#include "sweep/identity.hpp"
#include "sweep/settings_check.hpp"
#include "sweep/sweep_file.hpp"
