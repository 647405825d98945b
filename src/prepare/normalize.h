#pragma once
// Text clean-up that changes how text is written, never what it says: Unicode
// normal form, control characters, whitespace, HTML markup, label case. Each
// function is pure and takes and returns valid UTF-8.
#include <string>
#include <string_view>
#include <vector>

#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"

namespace whet {

std::string unicode_normalize(std::string_view text, bool compatibility);  // NFC, or NFKC when compatibility
std::string remove_control_characters(std::string_view text);  // all of category Cc but tab and newline
// CR LF and CR become LF; other Unicode spaces become ' '; runs of spaces and tabs
// inside a line become one space (indentation is kept); lines lose trailing
// spaces; at most one blank line in a row; no leading or trailing blank space.
std::string normalize_whitespace(std::string_view text);
// Tags and comments removed (script and style with their content), block tags
// made line breaks, the common named and numeric character references decoded.
std::string strip_html(std::string_view text);
std::string lowercase(std::string_view text);

// The stage: each record's text fields through the configured steps; the
// changes counted per step.
void normalize_stage(std::vector<Record>& records, const NormalizeConfig& config, const std::string& label_field,
                     Ledger& ledger);

}  // namespace whet
