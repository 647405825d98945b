#include "prepare/sources.h"

#include <algorithm>
#include <filesystem>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/json_line.h"
#include "data/jsonl_reader.h"
#include "data/line_reader.h"
#include "prepare/csv_reader.h"
#include "prepare/stages.h"
#include "prepare/text_encoding.h"

namespace whet {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kChatColumns[] = {"system", "user", "assistant"};

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\f\v") == std::string_view::npos; }

// A whet::Error taken apart into its "[where]" and the message after it.
struct Located {
  std::string where, message;
};
Located located(const Error& e, const std::string& fallback_where) {
  const std::string_view what = e.what();
  const size_t end = what.find("] ");
  if (!what.starts_with('[') || end == std::string_view::npos) return {fallback_where, std::string(what)};
  return {std::string(what.substr(1, end - 1)), std::string(what.substr(end + 2))};
}

// A short name for a reason, to count rejections by.
std::string category_of(const std::string& message) {
  if (message.starts_with("invalid JSON")) return "invalid JSON";
  if (message.starts_with("invalid UTF-8")) return "invalid UTF-8";
  if (message.starts_with("line longer")) return "line too long";
  if (message.find("quote") != std::string::npos) return "bad CSV quoting";
  if (message.find("fields, the header has") != std::string::npos) return "wrong number of CSV fields";
  if (message.starts_with("label")) return "bad label";
  return "not a training record";
}

// The label of a JSONL line when it lives in a field of its own.
std::string read_label(const json& object, const std::string& label_field, const std::string& where) {
  const auto it = object.find(label_field);
  if (it == object.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number() || it->is_boolean()) return it->dump();
  fail(where, "label {}: expected a string, a number or a boolean, got {}", label_field, it->type_name());
}

// A line of an unlabelled source: a prompt, a conversation ending in a user
// turn, or an instruction, with no answer yet. It is parsed as the training
// line it will become, with a stand-in answer that is then emptied, so that it
// is checked exactly as a labelled line is.
Example parse_unlabelled(const std::string& line, const SourceConfig& source, size_t number,
                         const std::string& label_field) {
  const std::string where = fmt::format("{}:{}", source.path, number);
  json object = parse_json_line(line, where);
  if (!object.is_object()) fail(where, "expected a JSON object, got {}", object.type_name());
  const bool has_label = json_member(object, label_field) || json_member(object, "label");
  // A label in a training field can only go where that field is.
  const bool needs_prompt = label_field == "completion", needs_instruction = label_field == "output";
  json* messages = object.contains("messages") ? &object["messages"] : nullptr;
  if (object.contains("prompt") && !needs_instruction) {
    if (has_label || object.contains("completion")) fail(where, "unlabelled source: the line already has a completion or label");
    object["completion"] = "-";
  } else if (object.contains("instruction") && !needs_prompt) {
    if (has_label || object.contains("output")) fail(where, "unlabelled source: the line already has an output or label");
    object["output"] = "-";
  } else if (messages && messages->is_array() && !messages->empty() && !needs_prompt && !needs_instruction) {
    const json* role = messages->back().is_object() ? json_member(messages->back(), "role") : nullptr;
    if (has_label || (role && *role == "assistant"))
      fail(where, "unlabelled source: the conversation already has an assistant reply or a label");
    messages->push_back({{"role", "assistant"}, {"content", "-"}});
  } else {
    fail(where, "unlabelled source: expected {} to label{}",
         needs_prompt ? "\"prompt\"" : needs_instruction ? "\"instruction\"" : "\"prompt\", \"messages\" or \"instruction\"",
         needs_prompt || needs_instruction ? fmt::format(" (label_field {} is a field of that format)", label_field) : "");
  }
  Record record;
  record.example = parse_example(object.dump(), source.format, source.path, number);
  std::string* target = target_slot(record);
  if (!target) fail(where, "unlabelled source: read as {}, which has no answer to label", data_format_name(record.example.format));
  *target = "";
  return std::move(record.example);
}

Record make_record(const SourceConfig& source, size_t index, const std::string& line, size_t number,
                   const std::string& label_field, bool transcoded) {
  Record record;
  record.source = index;
  if (source.role == SourceRole::Unlabelled) {
    record.example = parse_unlabelled(line, source, number, label_field);
    if (transcoded) record.marks.push_back("read: transcoded from Latin-1");
    return record;
  }
  record.example = parse_example(line, source.format, source.path, number);
  if (!label_field.empty() && !label_is_training_field(label_field)) {
    // A second parse, only for labelled data; parse_example keeps no extra keys.
    record.label = read_label(json::parse(line), label_field, record.example.where());
  }
  if (transcoded) record.marks.push_back("read: transcoded from Latin-1");
  return record;
}

void read_jsonl(const PipelineConfig& config, size_t index, const SourceSink& sink) {
  const SourceConfig& source = config.sources[index];
  for_each_jsonl_line(resolve_path(config, source.path), source.path,
                      {[&](std::string_view line, size_t number) {
                         const Decoded decoded = decode_text(line, source.encoding, fmt::format("{}:{}", source.path, number));
                         sink.record(make_record(source, index, decoded.text, number, config.label_field, decoded.transcoded));
                       },
                       [&](const Error& e, size_t number) {
                         const std::string where = fmt::format("{}:{}", source.path, number);
                         const std::string message = located(e, where).message;
                         sink.reject(where, category_of(message), message);
                       },
                       {}, sink.advanced});
}

// The JSON a CSV row stands for, through the column mapping; system, user and
// assistant columns make a one-turn chat, in that order.
json row_object(const SourceConfig& source, const std::vector<std::string>& header, const std::vector<std::string>& row) {
  auto cell = [&](const std::string& column) {
    return row[size_t(std::find(header.begin(), header.end(), column) - header.begin())];
  };
  json object = json::object();
  json messages = json::array();
  for (const char* role : kChatColumns)
    if (const auto it = source.columns.find(role); it != source.columns.end())
      messages.push_back({{"role", role}, {"content", cell(it->second)}});
  for (const auto& [field, column] : source.columns)
    if (std::find(std::begin(kChatColumns), std::end(kChatColumns), field) == std::end(kChatColumns))
      object[field] = cell(column);
  if (!messages.empty()) object["messages"] = std::move(messages);
  return object;
}

void read_table(const PipelineConfig& config, size_t index, char separator, const SourceSink& sink) {
  const SourceConfig& source = config.sources[index];
  CsvReader reader(resolve_path(config, source.path), source.path, separator, source.encoding);
  if (sink.advanced) sink.advanced(0);
  std::vector<std::string> header;
  CsvRow row;
  for (;;) {
    try {
      if (!reader.next(row)) return;
      if (sink.advanced) sink.advanced(reader.bytes_read());
    } catch (const Error& e) {
      if (header.empty()) throw;  // without a header nothing can be read
      const Located error = located(e, source.path);
      sink.reject(error.where, category_of(error.message), error.message);
      continue;
    }
    const std::string where = fmt::format("{}:{}", source.path, row.line);
    if (header.empty()) {
      header = row.fields;
      for (const auto& [field, column] : source.columns)
        if (std::find(header.begin(), header.end(), column) == header.end())
          fail(where, "columns.{}: no column '{}' in the header ({})", field, column, fmt::join(header, ", "));
      continue;
    }
    try {
      if (row.fields.size() != header.size())
        fail(where, "the row has {} fields, the header has {}", row.fields.size(), header.size());
      sink.record(make_record(source, index, row_object(source, header, row.fields).dump(), row.line,
                              config.label_field, row.transcoded));
    } catch (const Error& e) {
      const std::string message = located(e, where).message;
      sink.reject(where, category_of(message), message);
    }
  }
}

void read_text(const PipelineConfig& config, size_t index, const SourceSink& sink) {
  const SourceConfig& source = config.sources[index];
  for (const SourceFile& file : source_files(config, source)) {
    const std::string& shown = file.shown;
    LineReader lines(file.path);
    if (sink.advanced) sink.advanced(0);
    std::string line, text;
    size_t first_line = 0;
    bool too_long = false, transcoded = false, front_matter = false;
    auto flush = [&] {
      if (!is_blank(text)) {
        Record record;
        record.source = index;
        record.example.format = DataFormat::Text;
        record.example.file = shown;
        record.example.line = first_line;
        record.example.text = std::move(text);
        if (transcoded) record.marks.push_back("read: transcoded from Latin-1");
        sink.record(std::move(record));
      }
      text.clear();
      first_line = 0;
      transcoded = false;
    };
    while (lines.next(line, too_long)) {
      if (sink.advanced) sink.advanced(lines.bytes_read());
      const std::string where = fmt::format("{}:{}", shown, lines.line_number());
      // Markdown front matter (--- ... --- at the top) is metadata, not text.
      if (source.type == SourceType::Markdown && lines.line_number() == 1 && line == "---") front_matter = true;
      if (front_matter) {
        if (lines.line_number() > 1 && line == "---") front_matter = false;
        continue;
      }
      if (source.paragraphs && is_blank(line)) {
        flush();
        continue;
      }
      try {
        if (too_long) fail(where, "line longer than {} bytes", kMaxLineBytes);
        Decoded decoded = decode_text(line, source.encoding, where);
        if (first_line == 0 && !is_blank(decoded.text)) first_line = lines.line_number();
        if (!text.empty()) text += '\n';
        text += decoded.text;
        transcoded = transcoded || decoded.transcoded;
      } catch (const Error& e) {
        const std::string message = located(e, where).message;
        sink.reject(where, category_of(message), message);
      }
    }
    flush();
  }
}

}  // namespace

std::vector<SourceFile> source_files(const PipelineConfig& config, const SourceConfig& source) {
  const std::string root = resolve_path(config, source.path);
  std::error_code ec;
  if (!fs::exists(root, ec)) fail(root, "no such file or folder");
  const bool folder_type = source.type == SourceType::Text || source.type == SourceType::Markdown;
  if (!fs::is_directory(root, ec)) return {{root, source.path}};
  if (!folder_type) fail(root, "is a folder; only text and markdown sources read folders");
  const std::vector<std::string> extensions =
      source.type == SourceType::Markdown ? std::vector<std::string>{".md", ".markdown"} : std::vector<std::string>{".txt"};
  std::vector<SourceFile> files;
  for (const auto& entry : fs::recursive_directory_iterator(root, ec)) {
    if (!entry.is_regular_file()) continue;
    if (std::find(extensions.begin(), extensions.end(), entry.path().extension().string()) == extensions.end()) continue;
    // Named from the config's path, so traces do not depend on where the run started.
    files.push_back({entry.path().string(), (fs::path(source.path) / fs::relative(entry.path(), root)).generic_string()});
  }
  if (ec) fail(root, "cannot list the folder: {}", ec.message());
  std::sort(files.begin(), files.end(), [](const SourceFile& a, const SourceFile& b) { return a.path < b.path; });
  return files;
}

void read_source(const PipelineConfig& config, size_t index, const SourceSink& sink) {
  switch (config.sources.at(index).type) {
    case SourceType::Jsonl: return read_jsonl(config, index, sink);
    case SourceType::Csv: return read_table(config, index, ',', sink);
    case SourceType::Tsv: return read_table(config, index, '\t', sink);
    case SourceType::Text:
    case SourceType::Markdown: return read_text(config, index, sink);
  }
}

void stream_sources(const PipelineConfig& config, bool strict, Ledger& ledger,
                    const std::function<void(Record&&)>& on_record,
                    const std::function<void(uint64_t, uint64_t)>& progress) {
  ledger.begin(stage_name(Stage::Read), 0);
  size_t read = 0, rejected = 0;
  uint64_t total = 0, done_before = 0, in_file = 0;  // bytes: of every file, of the files finished, of this one
  std::error_code ec;
  for (const SourceConfig& source : config.sources)
    for (const SourceFile& file : source_files(config, source)) {
      const uintmax_t size = fs::file_size(file.path, ec);
      if (!ec) total += size;
    }
  uint64_t last_shown = 0;
  const SourceSink sink{
      [&](Record&& record) {
        record.id = read + rejected;
        record.group = record.id;
        if (!record.marks.empty()) ++ledger.current().changed["transcoded from Latin-1"];  // the only mark made while reading
        ++read;
        on_record(std::move(record));
      },
      [&](const std::string& where, const std::string& category, const std::string& reason) {
        if (strict) fail(where, "{}", reason);
        ledger.reject(where, category, reason);
        ++rejected;
      },
      [&](uint64_t bytes) {
        if (bytes < in_file) done_before += in_file;  // a file opened: the count starts again
        in_file = bytes;
        // Every few hundred kilobytes: a callback per line would cost more than the reading.
        if (!progress || done_before + bytes < last_shown + (uint64_t(1) << 18)) return;
        last_shown = done_before + bytes;
        progress(std::min(last_shown, total), total);
      }};
  for (size_t i = 0; i < config.sources.size(); ++i) read_source(config, i, sink);
  ledger.current().in = read + rejected;
  ledger.end(read);
}

std::vector<Record> read_sources(const PipelineConfig& config, bool strict, Ledger& ledger) {
  std::vector<Record> records;
  stream_sources(config, strict, ledger, [&](Record&& r) { records.push_back(std::move(r)); });
  return records;
}

}  // namespace whet
