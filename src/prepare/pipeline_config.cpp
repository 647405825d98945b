// The pipeline config through the shared YAML reader (io/yaml_config): a
// table of keys per section, sources and PII patterns as lists of sections.
// Checks within a section run when it is read (its table's finish); checks
// across sections run once the whole file is in.
#include "prepare/pipeline_config.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/yaml_config.h"

namespace whet {
namespace {

using yaml::boolean;
using yaml::choice;
using yaml::integer;
using yaml::real;
using yaml::section;
using yaml::section_list;
using yaml::strings;
using yaml::text;

constexpr std::string_view kSourceTypes[] = {"jsonl", "csv", "tsv", "text", "markdown"};
constexpr std::string_view kEncodings[] = {"utf-8", "latin-1", "utf-8-or-latin-1"};
constexpr std::string_view kSourceRoles[] = {"train", "unlabelled", "documents"};
constexpr std::string_view kUnits[] = {"file", "paragraph"};  // indexed by SourceConfig::paragraphs
constexpr std::string_view kPiiTypes[] = {"email", "phone", "iban", "credit_card", "ip_address"};
constexpr std::string_view kUnicodeForms[] = {"nfc", "nfkc", "none"};
constexpr std::string_view kPiiModes[] = {"redact", "drop", "off"};
constexpr std::string_view kNearModes[] = {"drop", "group", "off"};
constexpr std::string_view kKeepRules[] = {"first", "longest"};
constexpr std::string_view kLeakActions[] = {"report", "drop"};
constexpr std::string_view kPairFormats[] = {"completion", "chat"};

constexpr yaml::Real kShare{0, false, 1, false};  // a probability or a fraction: [0, 1]
constexpr yaml::Real kTemperature{0, false, 2, false};

// --- Sources ---

// CSV/TSV columns: a training field (or the label field) -> a header name.
std::map<std::string, std::string> read_columns(const yaml::Input& in) {
  std::map<std::string, std::string> out;
  if (in.node.IsNull()) return out;
  if (!in.node.IsMap()) in.reject(in.node, "a mapping of field: column");
  for (const auto& entry : in.node) {
    if (!entry.first.IsScalar() || !entry.second.IsScalar()) in.reject(entry.first, "field: column lines");
    out[entry.first.Scalar()] = entry.second.Scalar();
  }
  return out;
}

yaml::Field<SourceConfig> columns() {
  return {yaml::Custom{"mapping of field: column"},
          [](SourceConfig& s, const yaml::Input& in, yaml::Origins&) { s.columns = read_columns(in); },
          {},
          [](const SourceConfig& s) { return nlohmann::ordered_json(s.columns); }};
}

// The type comes from the extension unless given; roles and columns must suit the type.
void finish_source(SourceConfig& source, const yaml::Scope& s) {
  if (!s.has("type")) source.type = source_type_from_extension(source.path);
  const bool prose = source.type == SourceType::Text || source.type == SourceType::Markdown;
  if (source.role == SourceRole::Documents && !prose) s.reject("role", "documents only for text and markdown sources");
  if (source.role == SourceRole::Unlabelled && (prose || source.format == DataFormat::Text)) {
    s.reject("role", "unlabelled only for jsonl, csv and tsv sources of prompts (not format: text)");
  }
  const bool tabular = source.type == SourceType::Csv || source.type == SourceType::Tsv;
  if (tabular && source.columns.empty()) s.reject("columns", "a mapping of training fields to columns for csv/tsv");
  if (!tabular && !source.columns.empty()) s.reject("columns", "nothing: columns are for csv and tsv sources");
}

using Src = SourceConfig;
const yaml::Table<Src> kSource(
    {
        {"path", text(&Src::path), "a file; a folder for text and markdown", {}, true},
        {"type", choice(&Src::type, kSourceTypes), "how to read it (default: from the extension)"},
        {"format", choice(&Src::format, kDataFormatNames), "JSONL format, as data_format in the training config"},
        {"columns", columns(), "CSV/TSV: training field or label field -> header name"},
        {"encoding", choice(&Src::encoding, kEncodings), "how bytes that are not UTF-8 are read"},
        {"unit", choice(&Src::paragraphs, kUnits), "text/markdown: a record per file or per paragraph"},
        {"weight", real(&Src::weight, {0, true, 1000, false}), "copies of each record in the training split"},
        {"role", choice(&Src::role, kSourceRoles), "training records, prompts to pseudo-label, or documents"},
    },
    {}, finish_source);

// --- Stages ---

const yaml::Table<NormalizeConfig> kNormalize({
    {"unicode", choice(&NormalizeConfig::unicode, kUnicodeForms), "Unicode normal form"},
    {"whitespace", boolean(&NormalizeConfig::whitespace), "collapse spaces, trim lines, one blank line at most"},
    {"control", boolean(&NormalizeConfig::control), "remove control characters but tab and newline"},
    {"strip_html", boolean(&NormalizeConfig::strip_html), "remove tags, decode entities"},
    {"lowercase_labels", boolean(&NormalizeConfig::lowercase_labels), "lower-case labels"},
});

void finish_filter(FilterConfig& f, const yaml::Scope& s) {
  if (f.max_tokens && f.max_tokens < f.min_tokens) s.reject("max_tokens", "at least min_tokens");
}

const yaml::Table<FilterConfig> kFilter(
    {
        {"min_tokens", integer(&FilterConfig::min_tokens, {0, INT32_MAX}), "fewest tokens; needs model; 0: off"},
        {"max_tokens", integer(&FilterConfig::max_tokens, {0, INT32_MAX}), "most tokens; needs model; 0: off"},
        {"min_chars", integer(&FilterConfig::min_chars, {0, INT32_MAX}), "fewest visible characters per field"},
        {"max_repetition", real(&FilterConfig::max_repetition, kShare), "largest share of repeated trigrams"},
        {"max_symbol_ratio", real(&FilterConfig::max_symbol_ratio, kShare), "largest share of symbols"},
        {"labels", strings(&FilterConfig::labels), "allowed labels; needs label_field; empty: any"},
    },
    {}, finish_filter);

void finish_pattern(PiiPattern& p, const yaml::Scope& s) {
  const bool plain_name = !p.name.empty() && std::all_of(p.name.begin(), p.name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
  if (!plain_name) s.reject("name", "a name of letters, digits and _ (it becomes the placeholder [NAME])");
  if (p.regex.empty()) s.reject("regex", "a PCRE2 regular expression");
}

const yaml::Table<PiiPattern> kPattern(
    {
        {"name", text(&PiiPattern::name), "the placeholder [NAME]"},
        {"regex", text(&PiiPattern::regex), "PCRE2, UTF mode"},
    },
    {}, finish_pattern);

const yaml::Table<PiiConfig> kPii({
    {"mode", choice(&PiiConfig::mode, kPiiModes), "replace hits, or drop records with any"},
    {"types", strings(&PiiConfig::types, {.allowed = kPiiTypes}), "the built-in patterns used"},
    {"patterns", section_list(&PiiConfig::patterns, kPattern), "user patterns: name and regex"},
});

void finish_dedup(DedupConfig& d, const yaml::Scope& s) {
  if (d.permutations % d.bands != 0) s.reject("bands", "a divisor of permutations");
}

const yaml::Table<DedupConfig> kDedup(
    {
        {"exact", boolean(&DedupConfig::exact), "drop exact duplicates"},
        {"near", choice(&DedupConfig::near, kNearModes), "near duplicates"},
        {"threshold", real(&DedupConfig::threshold, {0.01, false, 1, false}), "Jaccard similarity of a pair"},
        {"shingle", integer(&DedupConfig::shingle, {1, 64}), "code points per shingle"},
        {"permutations", integer(&DedupConfig::permutations, {1, 1024}), "MinHash slots"},
        {"bands", integer(&DedupConfig::bands, {1, 1024}), "LSH bands"},
        {"keep", choice(&DedupConfig::keep, kKeepRules), "the cluster member kept"},
    },
    {}, finish_dedup);

void finish_split(SplitConfig& split, const yaml::Scope& s) {
  if (split.validation < 1 && split.test < 1 && split.validation + split.test >= 1) {
    s.reject("test", "fractions of validation and test that leave something to train on");
  }
}

constexpr yaml::Real kShareOrCount{0, false, 1e12, false};
const yaml::Table<SplitConfig> kSplit(
    {
        {"validation", real(&SplitConfig::validation, kShareOrCount), "held-out records: share < 1 or count"},
        {"test", real(&SplitConfig::test, kShareOrCount), "test records: share < 1 or count"},
        {"stratify", boolean(&SplitConfig::stratify), "by label, when labelled"},
    },
    {}, finish_split);

const yaml::Table<LeakageConfig> kLeakage({
    {"ngram", integer(&LeakageConfig::ngram, {1, 64}), "words per n-gram"},
    {"threshold", real(&LeakageConfig::threshold, {0.001, false, 1, false}), "share of n-grams that makes a leak"},
    {"eval_files", strings(&LeakageConfig::eval_files, {"path"}), "evaluation sets to check against"},
    {"action", choice(&LeakageConfig::action, kLeakActions), "what to do with leaking records"},
});

// The model a stage calls, as keys of the stage's section.
constexpr auto model_path = [](auto& stage) -> auto& { return stage.model.path; };
constexpr auto model_adapter = [](auto& stage) -> auto& { return stage.model.adapter; };

void finish_augment(AugmentConfig& a, const yaml::Scope& s) {
  for (const std::string& t : a.templates) {
    if (t.find("{prompt}") == std::string::npos) s.reject("templates", "templates that each contain {prompt}");
  }
  if ((a.paraphrases || a.questions) && a.model.path.empty()) {
    s.reject("model", "a model to paraphrase and write questions with");
  }
}

using Aug = AugmentConfig;
const yaml::Table<Aug> kAugment(
    {
        {"copies", integer(&Aug::copies, {0, 100}), "augmented copies per training record; 0: off"},
        {"char_dropout", real(&Aug::char_dropout, kShare), "chance per character of dropping it"},
        {"word_dropout", real(&Aug::word_dropout, kShare), "chance per word of dropping it"},
        {"swap", real(&Aug::swap, kShare), "chance per character of swapping it with the next"},
        {"case", real(&Aug::case_flip, kShare), "chance per character of flipping its case"},
        {"templates", strings(&Aug::templates), "prompt paraphrases with {prompt}"},
        {"paraphrases", integer(&Aug::paraphrases, {0, 100}), "model paraphrases of the input per record"},
        {"questions", integer(&Aug::questions, {0, 100}), "model questions for the answer per record"},
        {"max_tokens", integer(&Aug::max_tokens, {1, 4096}), "reply length"},
        {"temperature", real(&Aug::temperature, kTemperature), "sampling temperature"},
        {"model", text<Aug>(model_path), "the model that writes paraphrases and questions"},
        {"adapter", text<Aug>(model_adapter), "its LoRA adapter; empty: none"},
    },
    {}, finish_augment);

// A chunk's overlap defaults to a fifth of small chunks, so that chunk_words alone is a valid setting.
void finish_synthesize(SynthesizeConfig& y, const yaml::Scope& s) {
  if (!s.has("overlap_words")) y.overlap_words = std::min<size_t>(y.overlap_words, y.chunk_words / 5);
  if (y.overlap_words >= y.chunk_words) s.reject("overlap_words", "fewer words than chunk_words");
}

using Syn = SynthesizeConfig;
const yaml::Table<Syn> kSynthesize(
    {
        {"chunk_words", integer(&Syn::chunk_words, {1, 100000}), "chunk size in words"},
        {"overlap_words", integer(&Syn::overlap_words, {0, 100000}), "overlap where a paragraph is cut"},
        {"questions", integer(&Syn::questions, {1, 100}), "questions per chunk"},
        {"retrieve", integer(&Syn::retrieve, {1, 100}), "BM25 passages per question"},
        {"max_tokens", integer(&Syn::max_tokens, {1, 4096}), "reply length"},
        {"temperature", real(&Syn::temperature, kTemperature), "temperature of the questions"},
        {"format", choice(&Syn::format, kPairFormats), "how pairs are written"},
        {"model", text<Syn>(model_path), "the model that writes the pairs"},
        {"adapter", text<Syn>(model_adapter), "its LoRA adapter; empty: none"},
    },
    {}, finish_synthesize);

using Pseudo = PseudoLabelConfig;
const yaml::Table<Pseudo> kPseudoLabel({
    {"threshold", real(&Pseudo::threshold, kShare), "least probability of the best label"},
    {"labels", strings(&Pseudo::labels), "the labels to choose from"},
    {"model", text<Pseudo>(model_path), "the labelling model"},
    {"adapter", text<Pseudo>(model_adapter), "its LoRA adapter; empty: none"},
    {"classifier", text<Pseudo>([](auto& p) -> auto& { return p.model.classifier; }),
     "a classification head's folder; empty: label log-likelihoods"},
});

// --- Checks across sections ---

void check_columns(const PipelineConfig& c, const yaml::Scope& s) {
  for (size_t i = 0; i < c.sources.size(); ++i) {
    for (const auto& [field, column] : c.sources[i].columns) {
      if (is_column_field(field, c.label_field)) continue;
      s.reject(fmt::format("sources[{}].columns", i),
               fmt::format("training fields ({}) or the label_field as keys, not '{}'", yaml::join(kColumnFields), field));
    }
  }
}

void check_filter(const PipelineConfig& c, const yaml::Scope& s) {
  if ((c.filter.min_tokens || c.filter.max_tokens) && c.model.empty()) {
    s.reject(c.filter.min_tokens ? "filter.min_tokens" : "filter.max_tokens", "a `model:` to count tokens with");
  }
  if (!c.filter.labels.empty() && c.label_field.empty()) s.reject("filter.labels", "a label_field to read labels from");
}

// Each model-based stage has its model, and each section has sources to work on.
void check_model_stages(const PipelineConfig& c, const yaml::Scope& s) {
  const bool documents = has_source_role(c, SourceRole::Documents);
  if (documents && c.synthesize.model.path.empty()) {
    s.reject("synthesize.model", "a model to write question/answer pairs from the `role: documents` sources");
  }
  if (s.has("synthesize") && !documents) fail(s.where("synthesize"), "synthesize: no source has `role: documents`");
  const bool unlabelled = has_source_role(c, SourceRole::Unlabelled);
  if (unlabelled) {
    if (c.pseudo_label.model.path.empty()) s.reject("pseudo_label.model", "a model to label the `role: unlabelled` sources with");
    if (c.label_field.empty()) s.reject("label_field", "a label field for the pseudo-labels to go in");
  }
  if (s.has("pseudo_label") && !unlabelled) {
    fail(s.where("pseudo_label"), "pseudo_label: no source has `role: unlabelled`");
  }
}

void check_across_sections(PipelineConfig& c, const yaml::Scope& s) {
  check_columns(c, s);
  check_filter(c, s);
  check_model_stages(c, s);
}

using P = PipelineConfig;
const yaml::Table<P> kPipeline(
    {
        {"output_dir", text(&P::output_dir), "where the outputs go (--output overrides)"},
        {"model", text(&P::model), "GGUF file or HF directory for token lengths"},
        {"label_field", text(&P::label_field), "where labels are"},
        {"seed", integer(&P::seed, {0, INT64_MAX}), "every random choice"},
        {"sources", section_list(&P::sources, kSource), "one mapping per source, such as - path: data.jsonl", {}, true},
        {"normalize", section(&P::normalize, kNormalize), "Unicode, whitespace, control characters, HTML"},
        {"filter", section(&P::filter, kFilter), "length, repetition, symbols, labels"},
        {"pii", section(&P::pii, kPii), "personal data: redact or drop"},
        {"dedup", section(&P::dedup, kDedup), "exact and near duplicates"},
        {"split", section(&P::split, kSplit), "validation and test splits"},
        {"leakage", section(&P::leakage, kLeakage), "overlap with evaluation sets"},
        {"augment", section(&P::augment, kAugment), "augmented copies"},
        {"synthesize", section(&P::synthesize, kSynthesize), "question/answer pairs from documents"},
        {"pseudo_label", section(&P::pseudo_label, kPseudoLabel), "labels for unlabelled sources"},
    },
    {.example = "sources: [{path: data.jsonl}]"}, check_across_sections);

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

PipelineConfig parse_pipeline_config(const std::string& yaml_text, const std::string& path,
                                     const std::vector<SourceConfig>& added_sources) {
  PipelineConfig c;
  c.path = path;
  c.base_dir = std::filesystem::path(path).parent_path().string();
  yaml::Origins origins(path);
  yaml::read_document(c, kPipeline, yaml::parse_document(yaml_text, path, kPipeline.example), path, origins);
  c.sources.insert(c.sources.end(), added_sources.begin(), added_sources.end());
  yaml::finish(c, kPipeline, yaml::Scope{origins, ""});
  return c;
}

PipelineConfig load_pipeline_config(const std::string& path, const std::vector<SourceConfig>& added_sources) {
  return parse_pipeline_config(yaml::read_config_file(path), path, added_sources);
}

std::string pipeline_config_json(const PipelineConfig& config) {
  nlohmann::ordered_json out = yaml::to_json(config, kPipeline);
  out.erase("output_dir");  // where the outputs went is the manifest's own folder, which --output may change
  return out.dump(2);
}

}  // namespace whet
