#include "store/schema.hpp"

#include <fmt/format.h>

#include <functional>
#include <set>
#include <vector>

#include "common/error.hpp"
#include "config/trial_config.hpp"

namespace vitsweep::store {

namespace {

const char* kTables = R"sql(
CREATE TABLE sweeps (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  file        TEXT NOT NULL DEFAULT '',
  spec        TEXT NOT NULL,
  created_at  REAL NOT NULL,
  updated_at  REAL NOT NULL
);
CREATE TABLE trials (
  hash            TEXT PRIMARY KEY,
  identity        TEXT NOT NULL,
  config          TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'failed', 'diverged', 'killed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  runner          TEXT,
  host            TEXT,
  pid             INTEGER,
  heartbeat_at    REAL,
  lease_until     REAL,
  queued_at       REAL NOT NULL,
  started_at      REAL,
  finished_at     REAL,
  error           TEXT,
  epochs_done     INTEGER NOT NULL DEFAULT 0,
  diverged_step   INTEGER,
  test_acc        REAL,
  test_loss       REAL,
  train_acc       REAL,
  train_loss      REAL,
  val_acc         REAL,
  val_loss        REAL,
  wall_s          REAL,
  core_s          REAL,
  img_per_s       REAL,
  params          INTEGER,
  flops_per_image REAL
);
CREATE INDEX trials_status ON trials (status);
CREATE TABLE sweep_trials (
  sweep_id   INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  trial_hash TEXT NOT NULL REFERENCES trials (hash),
  position   INTEGER NOT NULL,
  PRIMARY KEY (sweep_id, trial_hash)
);
CREATE INDEX sweep_trials_position ON sweep_trials (sweep_id, position);
CREATE TABLE metrics (
  trial_hash TEXT NOT NULL REFERENCES trials (hash),
  name       TEXT NOT NULL,
  step       INTEGER NOT NULL,
  epoch      INTEGER,
  value      REAL,
  time       REAL NOT NULL,
  PRIMARY KEY (trial_hash, name, step)
);
)sql";

const std::vector<std::string> kEpochMetrics = {"train_loss", "train_acc", "val_loss",
                                                "val_acc",    "test_loss", "test_acc",
                                                "lr",         "epoch_s",   "img_per_s"};

// `temp`: a TEMP view, which a read-only connection may create to see keys its file predates.
std::string results_view_sql(bool temp = false) {
  std::string columns;
  for (const KeyDescription& key : config_keys()) {
    columns += fmt::format("  json_extract(t.identity, '$.{0}') AS {0},\n", key.name);
  }
  std::string metrics;
  for (const std::string& m : final_metric_columns()) metrics += fmt::format("  t.{},\n", m);
  return fmt::format(R"sql(
CREATE {}VIEW results AS
SELECT
  s.name AS sweep,
  t.hash AS trial,
  st.position AS position,
  t.status AS status,
{}{}  best.best_test_acc AS best_test_acc,
  best.best_epoch AS best_epoch,
  t.attempts AS attempts,
  t.error AS error
FROM sweep_trials st
JOIN sweeps s ON s.id = st.sweep_id
JOIN trials t ON t.hash = st.trial_hash
LEFT JOIN (
  -- SQLite returns the row of the max() for bare columns: the epoch of the best accuracy.
  SELECT trial_hash, max(value) AS best_test_acc, epoch AS best_epoch
  FROM metrics WHERE name = 'test_acc' GROUP BY trial_hash
) best ON best.trial_hash = t.hash;
)sql",
                     temp ? "TEMP " : "", columns, metrics);
}

std::string epochs_view_sql() {
  std::string columns;
  for (const std::string& m : kEpochMetrics) {
    columns += fmt::format(",\n  max(CASE WHEN name = '{0}' THEN value END) AS {0}", m);
  }
  return fmt::format(R"sql(
CREATE VIEW epochs AS
SELECT trial_hash AS trial, epoch, max(step) AS step{}
FROM metrics WHERE epoch IS NOT NULL AND name IN ({})
GROUP BY trial_hash, epoch;
)sql",
                     columns, [] {
                       std::string names;
                       for (const auto& m : kEpochMetrics)
                         names += (names.empty() ? "'" : ", '") + m + "'";
                       return names;
                     }());
}

// Claiming walks a sweep's trials in position order to the first queued one. Without this index
// each step of that walk reads the trial's whole row (its config and identity, ~1.5 KB) to see
// its status, and a claim near the end of a 10,000-trial sweep took 28 ms inside the write lock;
// with it, 3 ms. An index is not a change of schema version: it is added to older files when they
// are opened for writing, and a file without it works as before, only slower.
constexpr const char* kClaimIndex =
    "CREATE INDEX IF NOT EXISTS trials_hash_status ON trials (hash, status)";

// migrations[v] brings a database from version v to v + 1.
const std::vector<std::function<void(Database&)>>& migrations() {
  static const std::vector<std::function<void(Database&)>> steps = {
      [](Database& db) {
        db.exec(kTables);
        db.exec(kClaimIndex);
        db.exec(results_view_sql());
        db.exec(epochs_view_sql());
      },
  };
  return steps;
}

void ensure_claim_index(Database& db) {
  if (db.access() == Database::Access::read_only) return;
  bool present = false;
  {
    // Finished before the write: an open read would keep this connection from waiting for the
    // write lock (SQLite fails a read-to-write upgrade at once, without the busy handler).
    Statement index = db.prepare(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'trials_hash_status'");
    index.step();
    present = index.integer(0) == 1;
  }
  if (!present) db.write([&] { db.exec(kClaimIndex); });
}

// Whether the results view has a column for every config key this build knows.
bool results_view_is_current(Database& db) {
  Statement columns = db.prepare("SELECT name FROM pragma_table_info('results')");
  std::set<std::string> present;
  while (columns.step()) present.insert(columns.text(0));
  for (const KeyDescription& key : config_keys()) {
    if (!present.contains(key.name)) return false;
  }
  return true;
}

// The results view is derived from the config keys, not part of the schema version: a build that
// knows more keys than the file's view recreates it (a read-only connection shadows it with a
// TEMP view for its own queries, leaving the file untouched).
void refresh_results_view(Database& db) {
  if (results_view_is_current(db)) return;
  if (db.access() == Database::Access::read_only) {
    // The connection itself is opened read-only: only the TEMP schema can change.
    db.exec("PRAGMA query_only=OFF");
    try {
      db.exec(results_view_sql(/*temp=*/true));
    } catch (...) {
      db.exec("PRAGMA query_only=ON");
      throw;
    }
    db.exec("PRAGMA query_only=ON");
    return;
  }
  db.write([&] {
    if (results_view_is_current(db)) return;  // another runner refreshed it meanwhile
    db.exec("DROP VIEW results");
    db.exec(results_view_sql());
  });
}

}  // namespace

const std::vector<std::string>& final_metric_columns() {
  static const std::vector<std::string> columns = {
      "test_acc",  "test_loss",   "train_acc",      "train_loss", "val_acc",
      "val_loss",  "epochs_done", "diverged_step",  "wall_s",     "core_s",
      "img_per_s", "params",      "flops_per_image"};
  return columns;
}

void ensure_schema(Database& db) {
  // The version and whether the file has tables are read in one statement, so from one snapshot:
  // read apart, a runner could see version 0 before another runner's commit of the new schema
  // and that schema's tables after it, and refuse the file as someone else's database.
  Statement header = db.prepare(
      "SELECT user_version, (SELECT count(*) FROM sqlite_master) FROM pragma_user_version");
  header.step();
  const int version = static_cast<int>(header.integer(0));
  const int64_t tables = header.integer(1);
  header.reset();
  if (version > kSchemaVersion) {
    fail(
        "{}: schema version {} is newer than this sweep understands ({}): upgrade vitsweep "
        "(the database was left unchanged)",
        db.path(), version, kSchemaVersion);
  }
  if (version == 0) {
    if (tables == 0 && db.access() == Database::Access::read_only) {
      fail("{}: an empty results database (no sweep has been stored in it yet)", db.path());
    }
    if (tables > 0) {
      fail(
          "{}: a SQLite database but not a vitsweep results database (it has tables and no "
          "schema version); pass another --db",
          db.path());
    }
  }
  if (version == kSchemaVersion) {
    refresh_results_view(db);
    ensure_claim_index(db);
    return;
  }
  if (db.access() == Database::Access::read_only) {
    fail("{}: schema version {} needs migrating to {}: run `sweep run` on it once", db.path(),
         version, kSchemaVersion);
  }
  db.write([&] {
    // Re-read under the write lock: another runner may have migrated meanwhile.
    for (int v = db.user_version(); v < kSchemaVersion; ++v) {
      migrations()[static_cast<size_t>(v)](db);
      db.exec(fmt::format("PRAGMA user_version = {}", v + 1));
    }
  });
  refresh_results_view(db);
  ensure_claim_index(db);
}

}  // namespace vitsweep::store
