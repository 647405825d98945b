#pragma once
// Reading and writing the study database's rows for StudyStore
// (tune/study_store*.cpp): trials with their parameters, values and notes, and
// the four attribute tables, whose values are JSON text as Python writes it.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tune/trial.h"

struct sqlite3;

namespace whet::tune {

// The study's trials by number, or only the one with `trial_id`.
std::vector<Trial> read_trials(sqlite3* db, const std::string& path, int64_t study_id,
                               std::optional<int64_t> trial_id = std::nullopt);

// An attribute table: study_user_attributes and study_system_attributes are
// keyed by study_id, trial_user_attributes and trial_system_attributes by trial_id.
struct AttrTable {
  std::string_view table, owner_column;
};
inline constexpr AttrTable kStudyUserAttrs{"study_user_attributes", "study_id"};
inline constexpr AttrTable kTrialUserAttrs{"trial_user_attributes", "trial_id"};
inline constexpr AttrTable kTrialSystemAttrs{"trial_system_attributes", "trial_id"};

std::map<std::string, nlohmann::json> read_attrs(sqlite3* db, const std::string& path, AttrTable table, int64_t owner);
// Inserts the attribute or replaces its value.
void write_attr(sqlite3* db, const std::string& path, AttrTable table, int64_t owner, const std::string& key,
                const nlohmann::json& value);

}  // namespace whet::tune
