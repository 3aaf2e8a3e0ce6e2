// A SQLite connection with the rules this project keeps for its results file:
//   - never on a network file system (NFS, SMB/CIFS, Lustre, GPFS, FUSE mounts...): SQLite's
//     locking is unreliable there and files get corrupted (sqlite.org/useovernet.html); refused
//     with a message saying why;
//   - WAL journal, synchronous=FULL, foreign keys on, a busy timeout, and every write in a short
//     BEGIN IMMEDIATE transaction (write()), so concurrent runners wait their turn instead of
//     failing with "database is locked" halfway through;
//   - errors carry the file name and what SQLite said, and name the usual causes (not a database,
//     read-only, disk full, locked).
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vitsweep::store {

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql, const std::string& path);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // 1-based parameters.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, double value);  // NaN and infinities are stored as NULL
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  Statement& bind(int index, std::nullptr_t);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, nullptr);
  }

  // Advances: true when a row is available.
  bool step();
  // Runs to completion (for statements without results).
  void run();
  void reset();

  int columns() const;
  bool is_null(int column) const;
  int64_t integer(int column) const;
  double real(int column) const;  // NULL reads as NaN
  std::string text(int column) const;
  int type(
      int column) const;  // SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB, SQLITE_NULL

 private:
  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
  const std::string* path_;
  std::string sql_;  // its start, for error messages
};

class Database {
 public:
  enum class Access { read_write, read_only };

  // read_write creates the file (and its folder) when missing.
  Database(const std::string& path, Access access);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& path() const { return path_; }
  Access access() const { return access_; }
  sqlite3* handle() { return db_; }

  void exec(std::string_view sql);
  Statement prepare(std::string_view sql) { return Statement(db_, sql, path_); }
  int64_t changes() const { return sqlite3_changes(db_); }
  int user_version();

  // Runs fn inside BEGIN IMMEDIATE ... COMMIT; rolls back and rethrows when fn throws.
  template <typename Fn>
  decltype(auto) write(Fn&& fn) {
    const WriteTimer timer(writes_);
    begin_immediate();
    try {
      if constexpr (std::is_void_v<decltype(fn())>) {
        fn();
        commit();
      } else {
        auto result = fn();
        commit();
        return result;
      }
    } catch (...) {
      rollback();
      throw;
    }
  }

  // Write transactions on this connection so far and the wall time spent in them (waiting for
  // the lock, the work, the commit's fsync): what a runner's bookkeeping costs.
  struct WriteStats {
    int64_t transactions = 0;
    double seconds = 0;
  };
  const WriteStats& write_stats() const { return writes_; }

 private:
  void switch_to_wal();
  void begin_immediate();
  void commit();
  void rollback() noexcept;

  struct WriteTimer {
    explicit WriteTimer(WriteStats& stats) : stats(stats) {}
    ~WriteTimer() {
      ++stats.transactions;
      stats.seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    WriteStats& stats;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  };

  std::string path_;
  Access access_;
  sqlite3* db_ = nullptr;
  WriteStats writes_;
};

// Throws an Error for result code `code` with the database's message and a hint for the
// common causes. `what` says what was being done ("opening", "writing").
[[noreturn]] void fail_sqlite(sqlite3* db, int code, const std::string& path,
                              std::string_view what);

// The name of a network file system holding `folder`, or empty when it is local.
std::string network_filesystem_name(const std::string& folder);

// How long a writer waits for another writer's transaction before giving up: 15 s, or
// VITSWEEP_BUSY_TIMEOUT_MS (tests shorten it).
int busy_timeout_milliseconds();

}  // namespace vitsweep::store
