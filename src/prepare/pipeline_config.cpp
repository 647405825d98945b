// The pipeline config has nested sections, so instead of one flat key table
// (as train_config.cpp has) each section is read through a YamlSection that
// remembers which keys were asked for: whatever is left over is unknown, and
// is reported at its line with the nearest known key.
#include "prepare/pipeline_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace whet {
namespace {

constexpr size_t kMaxConfigBytes = size_t(1) << 20;
constexpr std::string_view kSourceTypes[] = {"jsonl", "csv", "tsv", "text", "markdown"};
constexpr std::string_view kEncodings[] = {"utf-8", "latin-1", "utf-8-or-latin-1"};
constexpr std::string_view kSourceRoles[] = {"train", "unlabelled", "documents"};
constexpr std::string_view kPiiTypes[] = {"email", "phone", "iban", "credit_card", "ip_address"};

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string shown(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (!node.IsScalar()) return "nothing";
  const std::string& s = node.Scalar();
  return "'" + (s.size() > 60 ? s.substr(0, 60) + "..." : s) + "'";
}

template <typename Names>
std::string joined(const Names& names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

// One YAML mapping of the config. Getters take the default for absent keys.
class YamlSection {
 public:
  YamlSection(const YAML::Node& node, std::string file, std::string prefix)
      : node_(node), file_(std::move(file)), prefix_(std::move(prefix)) {
    if (!node_.IsMap()) fail(where(node_), "{}: expected key: value lines, got {}", context(), shown(node_));
  }

  std::string where(const YAML::Node& node) const {
    return node.Mark().is_null() ? file_ : fmt::format("{}:{}", file_, node.Mark().line + 1);
  }

  bool has(const char* key) {
    asked_.insert(key);
    const YAML::Node v = get(key);
    return v && !v.IsNull();
  }

  std::string text(const char* key, std::string fallback) {
    if (!has(key)) return fallback;
    return scalar(key, "a string");
  }

  template <typename Names>
  std::string choice(const char* key, std::string fallback, const Names& allowed) {
    std::string value = text(key, std::move(fallback));
    if (std::find(std::begin(allowed), std::end(allowed), value) == std::end(allowed))
      reject(key, "one of " + joined(allowed));
    return value;
  }

  // A number (T double) or an integer (T int64_t) in [min, max].
  template <typename T>
  T in_range(const char* key, T fallback, T min, T max) {
    if (!has(key)) return fallback;
    const std::string expected =
        fmt::format("{} in [{}, {}]", std::is_integral_v<T> ? "an integer" : "a number", min, max);
    const std::string s = scalar(key, expected);
    T v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !(v >= min && v <= max)) reject(key, expected);
    return v;
  }
  double number(const char* key, double fallback, double min, double max) { return in_range(key, fallback, min, max); }
  int64_t integer(const char* key, int64_t fallback, int64_t min, int64_t max) {
    return in_range(key, fallback, min, max);
  }

  bool flag(const char* key, bool fallback) {
    if (!has(key)) return fallback;
    const std::string s = scalar(key, "true or false");
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    reject(key, "true or false");
  }

  // A string or a list of strings.
  std::vector<std::string> strings(const char* key) {
    if (!has(key)) return {};
    const YAML::Node v = get(key);
    if (v.IsScalar()) return {v.Scalar()};
    if (!v.IsSequence()) reject(key, "a string or a list of strings");
    std::vector<std::string> out;
    for (const YAML::Node& item : v) {
      if (!item.IsScalar()) fail(where(item), "{}: expected a list of strings, got {}", name(key), shown(item));
      out.push_back(item.Scalar());
    }
    return out;
  }

  // Each entry of a list of mappings.
  std::vector<YamlSection> list(const char* key) {
    if (!has(key)) return {};
    const YAML::Node v = get(key);
    if (!v.IsSequence()) reject(key, "a list");
    std::vector<YamlSection> out;
    for (size_t i = 0; i < v.size(); ++i) out.emplace_back(v[i], file_, fmt::format("{}[{}].", name(key), i));
    return out;
  }

  // A nested mapping; absent reads as empty, so its defaults apply.
  YamlSection section(const char* key) {
    if (!has(key)) return YamlSection(YAML::Node(YAML::NodeType::Map), file_, name(key) + ".");
    return YamlSection(get(key), file_, name(key) + ".");
  }

  // A mapping of free names to strings (CSV columns).
  std::map<std::string, std::string> string_map(const char* key) {
    std::map<std::string, std::string> out;
    if (!has(key)) return out;
    const YAML::Node v = get(key);
    if (!v.IsMap()) reject(key, "a mapping");
    for (const auto& entry : v) {
      if (!entry.first.IsScalar() || !entry.second.IsScalar())
        fail(where(entry.first), "{}: expected name: value lines", name(key));
      out[entry.first.Scalar()] = entry.second.Scalar();
    }
    return out;
  }

  // Every key of the mapping must have been asked for by now, and said once:
  // YAML readers keep one of two values silently.
  void reject_unknown() const {
    std::map<std::string, int> lines;
    for (const auto& entry : node_) {
      const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "?";
      const auto [first, inserted] = lines.emplace(key, entry.first.Mark().line + 1);
      if (!inserted) fail(where(entry.first), "duplicate key '{}{}' (first on line {})", prefix_, key, first->second);
      if (asked_.count(key)) continue;
      std::string_view best;
      size_t best_distance = std::clamp<size_t>(key.size() / 3, 1, 3) + 1;
      for (const std::string& known : asked_) {
        const size_t d = key.size() > 64 ? best_distance : edit_distance(key, known);
        if (d < best_distance) best_distance = d, best = known;
      }
      fail(where(entry.first), "unknown key '{}{}'{}", prefix_, key.substr(0, 64),
           best.empty() ? fmt::format(" (known here: {})", joined(asked_)) : fmt::format("; did you mean '{}'?", best));
    }
  }

  std::string name(const char* key) const { return prefix_ + key; }
  [[noreturn]] void reject(const char* key, std::string_view expected) const {
    const YAML::Node value = get(key);
    if (!value) fail(where(node_), "{}: expected {}, but it is not set", name(key), expected);
    fail(where(value), "{}: expected {}, got {}", name(key), expected, shown(value));
  }

 private:
  std::string context() const { return prefix_.empty() ? "config" : prefix_.substr(0, prefix_.size() - 1); }
  // Through a const node: yaml-cpp's non-const operator[] would add the key.
  YAML::Node get(const char* key) const { return static_cast<const YAML::Node&>(node_)[key]; }
  std::string scalar(const char* key, std::string_view expected) const {
    const YAML::Node v = get(key);
    if (!v.IsScalar()) reject(key, expected);
    return v.Scalar();
  }

  YAML::Node node_;
  std::string file_, prefix_;
  std::set<std::string> asked_;
};

template <typename Names>
size_t index_of(const Names& names, const std::string& value) {
  return size_t(std::find(std::begin(names), std::end(names), value) - std::begin(names));
}

SourceConfig read_source(YamlSection& s) {
  SourceConfig source;
  source.path = s.text("path", "");
  if (source.path.empty()) s.reject("path", "a file or folder");
  const std::string default_type(kSourceTypes[size_t(source_type_from_extension(source.path))]);
  source.type = SourceType(index_of(kSourceTypes, s.choice("type", default_type, kSourceTypes)));
  source.format = parse_data_format(s.choice("format", "auto", std::vector<std::string_view>{"auto", "text", "completion", "chat", "alpaca"}));
  source.columns = s.string_map("columns");
  source.encoding = Encoding(index_of(kEncodings, s.choice("encoding", "utf-8", kEncodings)));
  source.paragraphs = s.choice("unit", "file", std::vector<std::string_view>{"file", "paragraph"}) == "paragraph";
  source.weight = s.number("weight", 1, 0, 1000);
  if (source.weight == 0) s.reject("weight", "a positive number");
  source.role = SourceRole(index_of(kSourceRoles, s.choice("role", "train", kSourceRoles)));
  const bool prose = source.type == SourceType::Text || source.type == SourceType::Markdown;
  if (source.role == SourceRole::Documents && !prose) s.reject("role", "documents only for text and markdown sources");
  if (source.role == SourceRole::Unlabelled && (prose || source.format == DataFormat::Text))
    s.reject("role", "unlabelled only for jsonl, csv and tsv sources of prompts (not format: text)");
  const bool tabular = source.type == SourceType::Csv || source.type == SourceType::Tsv;
  if (tabular && source.columns.empty()) s.reject("columns", "a mapping of training fields to columns for csv/tsv");
  if (!tabular && !source.columns.empty()) s.reject("columns", "nothing: columns are for csv and tsv sources");
  return source;
}

// The model a stage calls: `model`, `adapter` (and `classifier` where a head may decide).
ModelRef read_model_ref(YamlSection& s, bool classifier) {
  ModelRef ref;
  ref.path = s.text("model", "");
  ref.adapter = s.text("adapter", "");
  if (classifier) ref.classifier = s.text("classifier", "");
  return ref;
}

// The section's own keys followed by its model's, as the YAML has them.
nlohmann::ordered_json with_model_ref(nlohmann::ordered_json section, const ModelRef& ref, bool classifier) {
  section["model"] = ref.path;
  section["adapter"] = ref.adapter;
  if (classifier) section["classifier"] = ref.classifier;
  return section;
}

PiiPattern read_pattern(YamlSection& s) {
  PiiPattern p{s.text("name", ""), s.text("regex", "")};
  const bool plain_name =
      !p.name.empty() && std::all_of(p.name.begin(), p.name.end(), [](char c) { return std::isalnum((unsigned char)c) || c == '_'; });
  if (!plain_name) s.reject("name", "a name of letters, digits and _ (it becomes the placeholder [NAME])");
  if (p.regex.empty()) s.reject("regex", "a PCRE2 regular expression");
  return p;
}

}  // namespace

std::string_view source_type_name(SourceType type) { return kSourceTypes[size_t(type)]; }

SourceType source_type_from_extension(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".csv") return SourceType::Csv;
  if (ext == ".tsv" || ext == ".tab") return SourceType::Tsv;
  if (ext == ".txt") return SourceType::Text;
  if (ext == ".md" || ext == ".markdown") return SourceType::Markdown;
  return SourceType::Jsonl;
}
std::string_view encoding_name(Encoding encoding) { return kEncodings[size_t(encoding)]; }
std::string_view source_role_name(SourceRole role) { return kSourceRoles[size_t(role)]; }

bool has_source_role(const PipelineConfig& config, SourceRole role) {
  return std::any_of(config.sources.begin(), config.sources.end(), [&](const SourceConfig& s) { return s.role == role; });
}

bool is_column_field(std::string_view field, const std::string& label_field) {
  return field == label_field || std::find(std::begin(kColumnFields), std::end(kColumnFields), field) != std::end(kColumnFields);
}

std::string resolve_path(const PipelineConfig& config, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute() || config.base_dir.empty()) return path;
  return (std::filesystem::path(config.base_dir) / path).lexically_normal().string();
}

PipelineConfig parse_pipeline_config(const std::string& yaml_text, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    fail(e.mark.is_null() ? path : fmt::format("{}:{}", path, e.mark.line + 1), "not valid YAML: {}", e.msg);
  }
  if (!root.IsMap()) fail(path, "expected key: value lines at the top level (sources:, dedup:, ...)");
  YamlSection top(root, path, "");
  PipelineConfig c;
  c.path = path;
  c.base_dir = std::filesystem::path(path).parent_path().string();
  c.output_dir = top.text("output_dir", "");
  c.model = top.text("model", "");
  c.label_field = top.text("label_field", "");
  c.seed = uint64_t(top.integer("seed", 42, 0, INT64_MAX));
  std::vector<YamlSection> sources = top.list("sources");
  if (sources.empty()) top.reject("sources", "a list of sources (- path: data.jsonl)");
  for (YamlSection& s : sources) {
    c.sources.push_back(read_source(s));
    for (const auto& [field, column] : c.sources.back().columns)
      if (!is_column_field(field, c.label_field))
        s.reject("columns", fmt::format("training fields ({}) or the label_field as keys, not '{}'", joined(kColumnFields), field));
    s.reject_unknown();
  }

  YamlSection n = top.section("normalize");
  c.normalize.unicode = n.choice("unicode", "nfc", std::vector<std::string_view>{"nfc", "nfkc", "none"});
  c.normalize.whitespace = n.flag("whitespace", true);
  c.normalize.control = n.flag("control", true);
  c.normalize.strip_html = n.flag("strip_html", false);
  c.normalize.lowercase_labels = n.flag("lowercase_labels", false);
  n.reject_unknown();

  YamlSection f = top.section("filter");
  c.filter.min_tokens = size_t(f.integer("min_tokens", 0, 0, INT32_MAX));
  c.filter.max_tokens = size_t(f.integer("max_tokens", 0, 0, INT32_MAX));
  c.filter.min_chars = size_t(f.integer("min_chars", 1, 0, INT32_MAX));
  c.filter.max_repetition = f.number("max_repetition", 0, 0, 1);
  c.filter.max_symbol_ratio = f.number("max_symbol_ratio", 0, 0, 1);
  c.filter.labels = f.strings("labels");
  if ((c.filter.min_tokens || c.filter.max_tokens) && c.model.empty())
    f.reject(c.filter.min_tokens ? "min_tokens" : "max_tokens", "a `model:` to count tokens with");
  if (c.filter.max_tokens && c.filter.max_tokens < c.filter.min_tokens) f.reject("max_tokens", "at least min_tokens");
  if (!c.filter.labels.empty() && c.label_field.empty()) f.reject("labels", "a label_field to read labels from");
  f.reject_unknown();

  YamlSection p = top.section("pii");
  c.pii.mode = p.choice("mode", "redact", std::vector<std::string_view>{"redact", "drop", "off"});
  if (p.has("types")) {
    c.pii.types = p.strings("types");
    for (const std::string& t : c.pii.types)
      if (index_of(kPiiTypes, t) == std::size(kPiiTypes)) p.reject("types", "a list of " + joined(kPiiTypes));
  }
  for (YamlSection& s : p.list("patterns")) {
    c.pii.patterns.push_back(read_pattern(s));
    s.reject_unknown();
  }
  p.reject_unknown();

  YamlSection d = top.section("dedup");
  c.dedup.exact = d.flag("exact", true);
  c.dedup.near = d.choice("near", "drop", std::vector<std::string_view>{"drop", "group", "off"});
  c.dedup.threshold = d.number("threshold", 0.8, 0.01, 1);
  c.dedup.shingle = int(d.integer("shingle", 5, 1, 64));
  c.dedup.permutations = int(d.integer("permutations", 128, 1, 1024));
  c.dedup.bands = int(d.integer("bands", 16, 1, 1024));
  c.dedup.keep = d.choice("keep", "first", std::vector<std::string_view>{"first", "longest"});
  if (c.dedup.permutations % c.dedup.bands != 0) d.reject("bands", "a divisor of permutations");
  d.reject_unknown();

  YamlSection s = top.section("split");
  c.split.validation = s.number("validation", 0, 0, 1e12);
  c.split.test = s.number("test", 0, 0, 1e12);
  c.split.stratify = s.flag("stratify", true);
  if (c.split.validation < 1 && c.split.test < 1 && c.split.validation + c.split.test >= 1)
    s.reject("test", "fractions of validation and test that leave something to train on");
  s.reject_unknown();

  YamlSection l = top.section("leakage");
  c.leakage.ngram = int(l.integer("ngram", 8, 1, 64));
  c.leakage.threshold = l.number("threshold", 0.5, 0.001, 1);
  c.leakage.eval_files = l.strings("eval_files");
  c.leakage.action = l.choice("action", "report", std::vector<std::string_view>{"report", "drop"});
  l.reject_unknown();

  YamlSection a = top.section("augment");
  c.augment.copies = int(a.integer("copies", 0, 0, 100));
  c.augment.char_dropout = a.number("char_dropout", 0, 0, 1);
  c.augment.word_dropout = a.number("word_dropout", 0, 0, 1);
  c.augment.swap = a.number("swap", 0, 0, 1);
  c.augment.case_flip = a.number("case", 0, 0, 1);
  c.augment.templates = a.strings("templates");
  for (const std::string& t : c.augment.templates)
    if (t.find("{prompt}") == std::string::npos) a.reject("templates", "templates that each contain {prompt}");
  c.augment.model = read_model_ref(a, false);
  c.augment.paraphrases = int(a.integer("paraphrases", 0, 0, 100));
  c.augment.questions = int(a.integer("questions", 0, 0, 100));
  c.augment.max_tokens = int(a.integer("max_tokens", 96, 1, 4096));
  c.augment.temperature = a.number("temperature", 0.7, 0, 2);
  if ((c.augment.paraphrases || c.augment.questions) && c.augment.model.path.empty())
    a.reject("model", "a model to paraphrase and write questions with");
  a.reject_unknown();

  const bool synthesizing = top.has("synthesize");
  YamlSection y = top.section("synthesize");
  c.synthesize.model = read_model_ref(y, false);
  c.synthesize.chunk_words = size_t(y.integer("chunk_words", 200, 1, 100000));
  // The default overlap shrinks with small chunks, so that chunk_words alone is a valid setting.
  c.synthesize.overlap_words = size_t(y.integer("overlap_words", int64_t(std::min<size_t>(40, c.synthesize.chunk_words / 5)), 0, 100000));
  c.synthesize.questions = int(y.integer("questions", 1, 1, 100));
  c.synthesize.retrieve = size_t(y.integer("retrieve", 3, 1, 100));
  c.synthesize.max_tokens = int(y.integer("max_tokens", 128, 1, 4096));
  c.synthesize.temperature = y.number("temperature", 0.7, 0, 2);
  c.synthesize.format = y.choice("format", "completion", std::vector<std::string_view>{"completion", "chat"});
  if (c.synthesize.overlap_words >= c.synthesize.chunk_words) y.reject("overlap_words", "fewer words than chunk_words");
  if (has_source_role(c, SourceRole::Documents) && c.synthesize.model.path.empty())
    y.reject("model", "a model to write question/answer pairs from the `role: documents` sources");
  if (synthesizing && !has_source_role(c, SourceRole::Documents))
    fail(y.where(root["synthesize"]), "synthesize: no source has `role: documents`");
  y.reject_unknown();

  const bool labelling = top.has("pseudo_label");
  YamlSection q = top.section("pseudo_label");
  c.pseudo_label.model = read_model_ref(q, true);
  c.pseudo_label.threshold = q.number("threshold", 0.9, 0, 1);
  c.pseudo_label.labels = q.strings("labels");
  if (has_source_role(c, SourceRole::Unlabelled)) {
    if (c.pseudo_label.model.path.empty()) q.reject("model", "a model to label the `role: unlabelled` sources with");
    if (c.label_field.empty()) top.reject("label_field", "a label field for the pseudo-labels to go in");
  }
  if (labelling && !has_source_role(c, SourceRole::Unlabelled))
    fail(q.where(root["pseudo_label"]), "pseudo_label: no source has `role: unlabelled`");
  q.reject_unknown();

  top.reject_unknown();
  return c;
}

PipelineConfig load_pipeline_config(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, not a pipeline YAML file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open pipeline config");
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(in.gcount()));
  if (text.size() > kMaxConfigBytes) fail(path, "larger than {} bytes; is this a data file?", kMaxConfigBytes);
  return parse_pipeline_config(text, path);
}

std::string pipeline_config_json(const PipelineConfig& c) {
  using json = nlohmann::ordered_json;
  json sources = json::array();
  for (const SourceConfig& s : c.sources) {
    sources.push_back({{"path", s.path}, {"type", source_type_name(s.type)}, {"format", data_format_name(s.format)},
                       {"columns", s.columns}, {"encoding", encoding_name(s.encoding)},
                       {"unit", s.paragraphs ? "paragraph" : "file"}, {"weight", s.weight},
                       {"role", source_role_name(s.role)}});
  }
  json patterns = json::array();
  for (const PiiPattern& p : c.pii.patterns) patterns.push_back({{"name", p.name}, {"regex", p.regex}});
  const json out = {
      {"model", c.model}, {"label_field", c.label_field}, {"seed", c.seed}, {"sources", sources},
      {"normalize", {{"unicode", c.normalize.unicode}, {"whitespace", c.normalize.whitespace},
                     {"control", c.normalize.control}, {"strip_html", c.normalize.strip_html},
                     {"lowercase_labels", c.normalize.lowercase_labels}}},
      {"filter", {{"min_tokens", c.filter.min_tokens}, {"max_tokens", c.filter.max_tokens},
                  {"min_chars", c.filter.min_chars}, {"max_repetition", c.filter.max_repetition},
                  {"max_symbol_ratio", c.filter.max_symbol_ratio}, {"labels", c.filter.labels}}},
      {"pii", {{"mode", c.pii.mode}, {"types", c.pii.types}, {"patterns", patterns}}},
      {"dedup", {{"exact", c.dedup.exact}, {"near", c.dedup.near}, {"threshold", c.dedup.threshold},
                 {"shingle", c.dedup.shingle}, {"permutations", c.dedup.permutations}, {"bands", c.dedup.bands},
                 {"keep", c.dedup.keep}}},
      {"split", {{"validation", c.split.validation}, {"test", c.split.test}, {"stratify", c.split.stratify}}},
      {"leakage", {{"ngram", c.leakage.ngram}, {"threshold", c.leakage.threshold},
                   {"eval_files", c.leakage.eval_files}, {"action", c.leakage.action}}},
      {"augment", with_model_ref({{"copies", c.augment.copies}, {"char_dropout", c.augment.char_dropout},
                                  {"word_dropout", c.augment.word_dropout}, {"swap", c.augment.swap},
                                  {"case", c.augment.case_flip}, {"templates", c.augment.templates},
                                  {"paraphrases", c.augment.paraphrases}, {"questions", c.augment.questions},
                                  {"max_tokens", c.augment.max_tokens}, {"temperature", c.augment.temperature}},
                                 c.augment.model, false)},
      {"synthesize", with_model_ref({{"chunk_words", c.synthesize.chunk_words},
                                     {"overlap_words", c.synthesize.overlap_words},
                                     {"questions", c.synthesize.questions}, {"retrieve", c.synthesize.retrieve},
                                     {"max_tokens", c.synthesize.max_tokens},
                                     {"temperature", c.synthesize.temperature}, {"format", c.synthesize.format}},
                                    c.synthesize.model, false)},
      {"pseudo_label", with_model_ref({{"threshold", c.pseudo_label.threshold}, {"labels", c.pseudo_label.labels}},
                                      c.pseudo_label.model, true)},
  };
  return out.dump(2);
}

}  // namespace whet
