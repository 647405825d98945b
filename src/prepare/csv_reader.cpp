#include "prepare/csv_reader.h"

#include <fmt/format.h>

#include "core/error.h"
#include "prepare/text_encoding.h"

namespace whet {

CsvReader::CsvReader(const std::string& path, std::string shown, char separator, Encoding encoding)
    : lines_(path), shown_(std::move(shown)), separator_(separator), encoding_(encoding) {}

bool CsvReader::next_line(std::string& line, bool& transcoded) {
  bool too_long = false;
  if (!lines_.next(line, too_long)) return false;
  const std::string where = fmt::format("{}:{}", shown_, lines_.line_number());
  if (too_long) fail(where, "line longer than {} bytes", kMaxLineBytes);
  Decoded decoded = decode_text(line, encoding_, where);
  transcoded = transcoded || decoded.transcoded;
  line = std::move(decoded.text);
  return true;
}

bool CsvReader::next(CsvRow& row) {
  std::string line;
  row = CsvRow{};
  do {
    if (!next_line(line, row.transcoded)) return false;
  } while (line.find_first_not_of(" \t") == std::string::npos);  // blank lines separate nothing
  row.line = lines_.line_number();
  const std::string where = fmt::format("{}:{}", shown_, row.line);
  std::string field;
  size_t i = 0;
  for (;;) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i == line.size()) {  // the quoted field goes on over the line break
          if (!next_line(line, row.transcoded)) fail(where, "quoted field opened here is never closed");
          if (field.size() > kMaxLineBytes) fail(where, "quoted field opened here runs past {} bytes", kMaxLineBytes);
          field += '\n';
          i = 0;
          continue;
        }
        if (line[i] != '"') {
          field += line[i++];
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          field += '"';
          i += 2;
        } else {
          ++i;
          break;
        }
      }
      if (i < line.size() && line[i] != separator_)
        fail(where, "field {}: text after a closing quote (a quote inside a field is written \"\")",
             row.fields.size() + 1);
    } else {
      const size_t end = std::min(line.find(separator_, i), line.size());
      field.assign(line, i, end - i);
      if (field.find('"') != std::string::npos)
        fail(where, "field {}: a quote inside an unquoted field (quote the field and write the quote as \"\")",
             row.fields.size() + 1);
      i = end;
    }
    row.fields.push_back(std::move(field));
    if (i >= line.size()) return true;
    ++i;  // the separator
  }
}

}  // namespace whet
