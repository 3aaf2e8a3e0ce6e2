// Reading a sweep's database from tests while a runner may still be creating or writing it.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include "store/database.hpp"
#include "support/process.hpp"

namespace vitsweep::testing {

// The first column of the first row of `sql` as an integer; -1 while the database cannot answer
// yet (not created, schema not written).
inline int64_t count_in(const std::string& db_path, const std::string& sql) {
  try {
    store::Database db(db_path, store::Database::Access::read_only);
    store::Statement s = db.prepare(sql);
    s.step();
    return s.integer(0);
  } catch (const std::exception&) {
    return -1;
  }
}

// Waits up to `seconds` until at least `trials` trials are running past their first epoch (so a
// signal now lands inside a trial that has a checkpoint to resume from).
inline bool trials_running_past_first_epoch(const std::string& db_path, int64_t trials,
                                            double seconds) {
  return eventually(
      [&] {
        return count_in(db_path,
                        "SELECT count(*) FROM trials WHERE status = 'running' AND "
                        "epochs_done >= 1") >= trials;
      },
      seconds);
}

}  // namespace vitsweep::testing
