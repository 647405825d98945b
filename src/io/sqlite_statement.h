#pragma once
// A prepared SQLite statement for Whet's stores (the server's jobs in
// serve/job_store*.cpp, a hyperparameter study in tune/study_store*.cpp):
// parameters bound in order, columns read back typed, and every failure a
// whet::Error "[<database path>] <operation>: <reason>".
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/error.h"

namespace whet {

inline constexpr std::string_view kSqliteDamagedHint = "; restore it from a backup, or move it aside to start afresh";

inline int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

template <typename T>
inline constexpr bool kIsOptional = false;
template <typename T>
inline constexpr bool kIsOptional<std::optional<T>> = true;

// A prepared statement whose parameters are bound in order and whose failures
// name the database and the operation.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& path, std::string_view operation, std::string_view sql)
      : db_(db), path_(path), operation_(operation) {
    if (sqlite3_prepare_v2(db, sql.data(), int(sql.size()), &stmt_, nullptr) != SQLITE_OK) raise();
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Strings, integers and doubles bind as themselves, an absent optional as NULL;
  // JSON as its text, or NULL when null.
  template <typename... Values>
  Statement& bind(const Values&... values) {
    int index = 0;
    (bind_one(++index, values), ...);
    return *this;
  }
  bool step() {  // true: a row is ready
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) raise();
    return false;
  }
  void run() {
    while (step()) {
    }
  }
  // Ready to bind and run again: one statement prepared once for many rows.
  Statement& reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return *this;
  }

  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  double real(int column) const { return sqlite3_column_double(stmt_, column); }
  std::string text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string(p, size_t(sqlite3_column_bytes(stmt_, column))) : std::string();
  }
  std::optional<std::string> optional_text(int column) const {
    if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) return std::nullopt;
    return text(column);
  }
  nlohmann::json json(int column) const {
    if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) return nullptr;
    nlohmann::json value = nlohmann::json::parse(text(column), nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) bad_column(column, "is not JSON");
    return value;
  }
  // A row whose column holds what the schema forbids: an error naming the column.
  [[noreturn]] void bad_column(int column, std::string_view what) const {
    fail(path_, "{}: column {} {}", operation_, sqlite3_column_name(stmt_, column), what);
  }

 private:
  template <typename T>
  void bind_one(int index, const T& value) {
    int rc;
    if constexpr (kIsOptional<T>) {
      if (value) return bind_one(index, *value);
      rc = sqlite3_bind_null(stmt_, index);
    } else if constexpr (std::is_floating_point_v<T>) {
      rc = sqlite3_bind_double(stmt_, index, double(value));
    } else if constexpr (std::is_same_v<T, nlohmann::json>) {
      if (value.is_null()) {
        rc = sqlite3_bind_null(stmt_, index);
      } else {
        // Replacing invalid UTF-8 (say, from training text in a message) instead of throwing.
        const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        rc = sqlite3_bind_text(stmt_, index, text.data(), int(text.size()), SQLITE_TRANSIENT);
      }
    } else if constexpr (std::is_integral_v<T>) {
      rc = sqlite3_bind_int64(stmt_, index, int64_t(value));
    } else {
      const std::string_view text(value);
      rc = sqlite3_bind_text(stmt_, index, text.data(), int(text.size()), SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) raise();
  }
  [[noreturn]] void raise() const {
    const int code = sqlite3_errcode(db_);
    const bool damaged = code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
    fail(path_, "{}: {}{}", operation_, sqlite3_errmsg(db_), damaged ? kSqliteDamagedHint : "");
  }

  sqlite3* db_;
  const std::string& path_;
  std::string_view operation_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace whet
