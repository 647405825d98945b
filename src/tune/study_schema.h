#pragma once
// The study database's tables: Optuna's RDB storage schema exactly as Optuna
// 4.9.0 creates it in SQLite (alembic revision v3.2.0.a, the head from Optuna
// 3.2 to 4.9), so optuna.load_study and optuna-dashboard open a Whet study
// without migrating it, and Whet opens a study Optuna wrote.
#include <string>
#include <string_view>

struct sqlite3;

namespace whet::tune {

inline constexpr std::string_view kOptunaVersion = "4.9.0";       // version_info.library_version
inline constexpr int kOptunaSchemaVersion = 12;                   // version_info.schema_version
inline constexpr std::string_view kAlembicRevision = "v3.2.0.a";  // alembic_version.version_num

bool database_is_empty(sqlite3* db, const std::string& path);

// In an empty database, inside the caller's transaction: every table, with
// version_info and alembic_version filled in as Optuna fills them.
void create_study_schema(sqlite3* db, const std::string& path);

// Refuses a database that is not an Optuna study database, or is one at
// another schema revision (an older one says how Optuna upgrades it).
void check_study_schema(sqlite3* db, const std::string& path);

}  // namespace whet::tune
