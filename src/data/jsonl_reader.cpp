// Line handling lives apart from JSON parsing so that line numbers, BOM and
// CRLF are dealt with once, whatever the format of the line.
#include "data/jsonl_reader.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace whet {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\f\v") == std::string_view::npos; }

}  // namespace

std::vector<Example> read_examples(const std::string& path, const DataOptions& options, DataStats& stats) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: {}", std::strerror(errno));
  std::vector<Example> examples;
  std::string buffer;
  for (size_t number = 1; std::getline(in, buffer); ++number) {
    std::string_view line = buffer;
    if (number == 1 && line.starts_with(kBom)) line.remove_prefix(kBom.size());
    if (line.ends_with('\r')) line.remove_suffix(1);
    ++stats.lines;
    if (is_blank(line)) {
      ++stats.blank_lines;
      continue;
    }
    try {
      examples.push_back(parse_example(line, options.format, path, number));
    } catch (const Error& e) {
      if (options.strict) throw;
      stats.skip(path, number, e);
    }
  }
  if (in.bad()) fail(path, "read error: {}", std::strerror(errno));
  return examples;
}

}  // namespace whet
