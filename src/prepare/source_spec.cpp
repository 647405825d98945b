#include "prepare/source_spec.h"

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <map>

#include <fmt/ranges.h>

#include "core/error.h"

namespace whet {
namespace {

namespace fs = std::filesystem;

template <typename Enum>
Enum named(std::initializer_list<Enum> values, std::string_view (*name_of)(Enum), const char* flag,
           const std::string& name) {
  std::string known;
  for (Enum value : values) {
    if (name_of(value) == name) return value;
    known += (known.empty() ? "" : ", ") + std::string(name_of(value));
  }
  fail(flag, "expected one of {}, got '{}'", known, name);
}

std::map<std::string, std::string> parse_columns(const std::vector<std::string>& flags,
                                                 const std::string& label_field) {
  std::map<std::string, std::string> columns;
  for (const std::string& flag : flags) {
    for (size_t start = 0; start <= flag.size();) {
      const size_t end = std::min(flag.find(',', start), flag.size());
      const std::string pair = flag.substr(start, end - start);
      start = end + 1;
      const size_t equals = pair.find('=');
      if (equals == 0 || equals == std::string::npos || equals + 1 == pair.size())
        fail("--columns", "expected FIELD=COLUMN, got '{}'", pair);
      const std::string field = pair.substr(0, equals);
      if (!is_column_field(field, label_field))
        fail("--columns", "unknown field '{}' (training fields: {}{})", field, fmt::join(kColumnFields, ", "),
             label_field.empty() ? "" : "; label: " + label_field);
      if (!columns.emplace(field, pair.substr(equals + 1)).second) fail("--columns", "{} is mapped twice", field);
    }
  }
  return columns;
}

}  // namespace

PipelineConfig single_source_config(const SourceFlags& flags, const std::string& label_field) {
  std::error_code ec;
  if (!fs::exists(flags.path, ec)) fail(flags.path, "no such file or folder");
  const bool folder = fs::is_directory(flags.path, ec);
  SourceConfig source;
  source.path = flags.path;
  const std::initializer_list<SourceType> types{SourceType::Jsonl, SourceType::Csv, SourceType::Tsv, SourceType::Text,
                                                SourceType::Markdown};
  source.type = !flags.type.empty() ? named(types, source_type_name, "--type", flags.type)
                : folder            ? SourceType::Text
                                    : source_type_from_extension(flags.path);
  source.encoding = named({Encoding::Utf8, Encoding::Latin1, Encoding::Utf8OrLatin1}, encoding_name, "--encoding",
                          flags.encoding);
  source.format = parse_data_format(flags.format);
  source.paragraphs = flags.paragraphs;
  source.columns = parse_columns(flags.columns, label_field);

  const std::string_view type = source_type_name(source.type);
  const bool tabular = source.type == SourceType::Csv || source.type == SourceType::Tsv;
  const bool prose = source.type == SourceType::Text || source.type == SourceType::Markdown;
  if (folder && !prose) fail(flags.path, "is a folder; only text and markdown are read from folders, not {}", type);
  if (tabular && source.columns.empty())
    fail(flags.path, "--columns: a {} file needs its columns mapped to training fields "
         "(--columns prompt=COLUMN,completion=COLUMN)", type);
  if (!tabular && !source.columns.empty())
    fail(flags.path, "--columns: only csv and tsv files are mapped; this is read as {} (--type)", type);
  if (!prose && source.paragraphs)
    fail(flags.path, "--paragraphs: only text and markdown split into paragraphs; this is read as {} (--type)", type);
  if (prose && source.format != DataFormat::Auto && source.format != DataFormat::Text)
    fail(flags.path, "--format {}: text and markdown are read as text records", flags.format);

  PipelineConfig config;
  config.label_field = label_field;
  config.sources.push_back(std::move(source));
  return config;
}

}  // namespace whet
