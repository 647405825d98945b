#pragma once
// Which format a JSONL line is, from its keys alone. Supervised and preference
// lines are told apart here, in one place, so that each reader can refuse the
// other's lines by name instead of misreading them (a KTO line's "prompt" and
// "completion" would otherwise pass for a completion example).
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "data/example.h"

namespace whet {

// Preference keys first (chosen, rejected, preferred_output,
// non_preferred_output), then KTO (a true/false "label" beside "prompt" or
// "completion"), then messages, instruction, prompt/completion, text. Throws
// whet::Error "[where] unknown format: ..." when no key says.
DataFormat detect_format(const nlohmann::json& object, const std::string& where);

// `format` when it is given, else the format the line's keys say. Throws
// whet::Error for invalid JSON, a line that is no object, or unknown keys.
DataFormat line_format(std::string_view json_line, DataFormat format, const std::string& where);

}  // namespace whet
