#pragma once
// CSV and TSV rows as RFC 4180 writes them (quoted fields may hold the
// separator, doubled quotes and line breaks), read one row at a time from a
// LineReader so that files of any size stream.
#include <string>
#include <vector>

#include "data/line_reader.h"
#include "prepare/pipeline_config.h"

namespace whet {

struct CsvRow {
  std::vector<std::string> fields;
  size_t line = 0;           // where the row starts
  bool transcoded = false;   // some line of it was read as Latin-1
};

class CsvReader {
 public:
  // `shown` names the file in errors (the path as the config gives it).
  CsvReader(const std::string& path, std::string shown, char separator, Encoding encoding);

  // The next row; false at the end of the file. A malformed row (bad quoting,
  // invalid UTF-8, a line too long) throws whet::Error "[path:line] ..." and the
  // reader carries on after it, except for a quote left open, which swallows the
  // rest of the file, as it would in any CSV reader.
  bool next(CsvRow& row);
  uint64_t bytes_read() const { return lines_.bytes_read(); }

 private:
  bool next_line(std::string& line, bool& transcoded);

  LineReader lines_;
  std::string shown_;
  char separator_;
  Encoding encoding_;
};

}  // namespace whet
