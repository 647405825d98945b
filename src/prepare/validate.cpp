#include "prepare/validate.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/detect_format.h"
#include "data/jsonl_reader.h"
#include "prepare/sources.h"
#include "prepare/text_encoding.h"

namespace whet {
namespace {

// Strings as they are, other values as JSON; absent and null: unlabelled.
std::string json_label(const std::string& line, const std::string& label_field) {
  const auto object = nlohmann::json::parse(line);
  const auto it = object.find(label_field);
  if (it == object.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// Unlike the pipeline's JSONL reader, this one counts blank lines, and it keeps
// the line numbers `whet train` reports.
void scan_jsonl(const PipelineConfig& config, const SourceVisitor& visitor) {
  const SourceConfig& source = config.sources.front();
  const bool own_label = !config.label_field.empty() && !label_is_training_field(config.label_field);
  for_each_jsonl_line(resolve_path(config, source.path), source.path,
                      {[&](std::string_view line, size_t number) {
                         // JSON strings would catch invalid UTF-8 too, but not in keys and numbers.
                         const std::string where = fmt::format("{}:{}", source.path, number);
                         const std::string text = decode_text(line, source.encoding, where).text;
                         if (visitor.on_unsupervised) {
                           const DataFormat format = line_format(text, source.format, where);
                           if (!is_supervised_format(format))
                             return visitor.on_unsupervised(check_data_line(text, format, source.path, number));
                         }
                         Record record;
                         record.example = parse_example(text, source.format, source.path, number);
                         if (own_label) record.label = json_label(text, config.label_field);
                         visitor.on_record(std::move(record));
                       },
                       [&](const Error& e, size_t) { visitor.on_error(e.what()); }, visitor.on_blank, {}});
}

}  // namespace

void scan_source(const PipelineConfig& config, const SourceVisitor& visitor) {
  if (config.sources.front().type == SourceType::Jsonl) return scan_jsonl(config, visitor);
  read_source(config, 0,
              {[&](Record&& record) { visitor.on_record(std::move(record)); },
               [&](const std::string& where, const std::string&, const std::string& reason) {
                 visitor.on_error(fmt::format("[{}] {}", where, reason));
               }});
}

ValidationReport validate_source(const PipelineConfig& config, size_t max_errors) {
  ValidationReport report;
  scan_source(config, {[&](Record&& record) { report.add_example(record.example.format); },
                       [&](const std::string& error) { report.add_error(error, max_errors); },
                       [&] { report.add_blank(); }, [&](DataFormat format) { report.add_example(format); }});
  return report;
}

}  // namespace whet
