#include "store/database.hpp"

#include <sys/statfs.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/error.hpp"

namespace vitsweep::store {

namespace {

std::string hint_for(int code) {
  switch (code & 0xff) {
    case SQLITE_NOTADB: return " (the file is not a SQLite database)";
    case SQLITE_CORRUPT:
      return " (the file is damaged; run `sqlite3 FILE 'PRAGMA integrity_check'`)";
    case SQLITE_READONLY: return " (the file or its folder is read-only)";
    case SQLITE_FULL: return " (the disk is full)";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return fmt::format(" (another process held the write lock for more than {:g} s)",
                         busy_timeout_milliseconds() / 1000.0);
    case SQLITE_CANTOPEN: return " (missing folder, permissions, or not a file)";
    case SQLITE_IOERR: return " (an I/O error: disk full or failing?)";
    default: return "";
  }
}

}  // namespace

void fail_sqlite(sqlite3* db, int code, const std::string& path, std::string_view what) {
  const char* message = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  fail("{}: {} failed: {}{}", path, what, message, hint_for(code));
}

int busy_timeout_milliseconds() {
  static const int timeout = [] {
    const char* text = std::getenv("VITSWEEP_BUSY_TIMEOUT_MS");
    const int value = text ? std::atoi(text) : 0;
    return value > 0 ? value : 15000;
  }();
  return timeout;
}

std::string network_filesystem_name(const std::string& folder) {
  struct statfs info {};
  if (::statfs(folder.c_str(), &info) != 0) return "";
  // f_type magic numbers from statfs(2) / linux/magic.h.
  switch (static_cast<uint32_t>(info.f_type)) {
    case 0x6969u: return "NFS";
    case 0x517Bu: return "SMB";
    case 0xFF534D42u: return "CIFS";
    case 0xFE534D42u: return "SMB2";
    case 0x0BD00BD0u: return "Lustre";
    case 0x47504653u: return "GPFS";
    case 0x65735546u: return "FUSE";
    case 0x5346414Fu: return "AFS";
    case 0x00C36400u: return "Ceph";
    case 0x01021997u: return "9P";
    case 0x013111A8u: return "IBRIX";
    case 0x73757245u: return "Coda";
    case 0x7461636Fu: return "OCFS2";
    case 0x19830326u: return "FhGFS/BeeGFS";
    default: return "";
  }
}

// ---- Statement

Statement::Statement(sqlite3* db, std::string_view sql, const std::string& path)
    : db_(db), path_(&path), sql_(sql.substr(0, 60)) {
  const int rc =
      sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &statement_, nullptr);
  if (rc != SQLITE_OK) fail_sqlite(db, rc, path, fmt::format("preparing `{}`", sql.substr(0, 60)));
}

Statement::~Statement() { sqlite3_finalize(statement_); }

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      statement_(other.statement_),
      path_(other.path_),
      sql_(std::move(other.sql_)) {
  other.statement_ = nullptr;
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(statement_, index, value);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  if (std::isfinite(value))
    sqlite3_bind_double(statement_, index, value);
  else
    sqlite3_bind_null(statement_, index);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text(statement_, index, value.data(), static_cast<int>(value.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int index, std::nullptr_t) {
  sqlite3_bind_null(statement_, index);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail_sqlite(db_, rc, *path_, fmt::format("`{}`", sql_));
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

int Statement::columns() const { return sqlite3_column_count(statement_); }
bool Statement::is_null(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}
int64_t Statement::integer(int column) const { return sqlite3_column_int64(statement_, column); }
double Statement::real(int column) const {
  return is_null(column) ? std::nan("") : sqlite3_column_double(statement_, column);
}
std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(statement_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(statement_, column))
           : "";
}
int Statement::type(int column) const { return sqlite3_column_type(statement_, column); }

// ---- Database

Database::Database(const std::string& path, Access access) : path_(path), access_(access) {
  namespace fs = std::filesystem;
  const fs::path file(path);
  const fs::path folder = file.has_parent_path() ? file.parent_path() : fs::path(".");
  if (access == Access::read_write) {
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) fail("{}: cannot create the folder {}: {}", path, folder.string(), ec.message());
  } else if (!fs::exists(file)) {
    fail("{}: no such results database (run `sweep run` first, or pass --db)", path);
  }
  const std::string network = network_filesystem_name(folder.string());
  if (!network.empty()) {
    fail(
        "{}: refusing to use a SQLite database on a network file system ({}): its locks are "
        "unreliable there and concurrent runners would corrupt the file. Put the database on a "
        "local disk (--db /local/path/sweep.db); run folders may stay where they are.",
        path, network);
  }
  const int flags = access == Access::read_write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                                 : SQLITE_OPEN_READONLY;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    fail("{}: cannot open: {}{}", path, message, hint_for(rc));
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_milliseconds());
  try {
    // Reading the header makes SQLite check the file is a database at all.
    user_version();
    if (access == Access::read_write) {
      switch_to_wal();
      exec("PRAGMA synchronous=FULL");
    } else {
      exec("PRAGMA query_only=ON");
    }
    exec("PRAGMA foreign_keys=ON");
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Database::~Database() {
  if (db_ != nullptr) sqlite3_close(db_);
}

void Database::exec(std::string_view sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    const std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    fail("{}: `{}` failed: {}{}", path_, sql.substr(0, 60), text, hint_for(rc));
  }
}

int Database::user_version() {
  Statement s = prepare("PRAGMA user_version");
  s.step();
  return static_cast<int>(s.integer(0));
}

void Database::switch_to_wal() {
  auto mode = [&] {
    Statement s = prepare("PRAGMA journal_mode");
    s.step();
    return s.text(0);
  };
  if (mode() == "wal") return;
  // Changing the journal mode takes an exclusive lock, and SQLite can answer SQLITE_BUSY at once,
  // without its busy handler, when another connection is creating the same new file: retry.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_milliseconds());
  while (true) {
    sqlite3_stmt* statement = nullptr;
    int rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &statement, nullptr);
    std::string result;
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(statement);
      if (rc == SQLITE_ROW) {
        result = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
        rc = SQLITE_OK;
      }
    }
    sqlite3_finalize(statement);
    if (rc == SQLITE_OK && result == "wal") return;
    const bool busy = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
    if (!busy || std::chrono::steady_clock::now() > deadline) {
      if (rc != SQLITE_OK) fail_sqlite(db_, rc, path_, "switching to WAL journaling");
      fail("{}: cannot switch to WAL journaling (the journal mode stayed '{}')", path_, result);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Database::begin_immediate() { exec("BEGIN IMMEDIATE"); }
void Database::commit() { exec("COMMIT"); }
void Database::rollback() noexcept { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

}  // namespace vitsweep::store
