#pragma once
// What `whet data prepare` does, read from a YAML file: one section per stage,
// flat keys inside. Every value is checked when the file is read, and errors
// name the file, the line and the key, so a run never fails halfway through on
// a typo.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "data/example.h"
#include "prepare/stage_model.h"

namespace whet {

enum class SourceType { Jsonl, Csv, Tsv, Text, Markdown };
// How bytes that are not UTF-8 are treated: a malformed line (utf-8), Latin-1
// everywhere (latin-1), or Latin-1 only for the lines that are not valid UTF-8
// (utf-8-or-latin-1, for files that were edited on several systems).
enum class Encoding { Utf8, Latin1, Utf8OrLatin1 };
// What a source's records are for: training examples; prompts without labels
// for pseudo-labelling; or documents that synthesis turns into question/answer pairs.
enum class SourceRole { Train, Unlabelled, Documents };

// What a CSV/TSV column may be mapped to, besides the label field: the training
// fields (system, user and assistant make a one-turn chat) and "label", which
// the completion format reads as the answer.
inline constexpr std::string_view kColumnFields[] = {"text",   "prompt", "completion", "label", "instruction",
                                                     "input",  "output", "system",     "user",  "assistant"};

struct SourceConfig {
  std::string path;  // a file; for text and markdown, a file or a folder (read recursively, sorted)
  SourceType type = SourceType::Jsonl;
  DataFormat format = DataFormat::Auto;        // jsonl: as `whet train` reads it
  std::map<std::string, std::string> columns;  // csv/tsv: training field (prompt, completion, ...) -> column
  Encoding encoding = Encoding::Utf8;
  bool paragraphs = false;                     // text/markdown: one record per paragraph instead of per file
  double weight = 1;                           // copies of each record in the training split, on average
  SourceRole role = SourceRole::Train;
};

struct NormalizeConfig {
  std::string unicode = "nfc";  // nfc, nfkc or none
  bool whitespace = true;       // collapse runs of spaces, trim lines, at most one blank line
  bool control = true;          // remove control characters other than newline and tab
  bool strip_html = false;      // remove tags, decode the common entities
  bool lowercase_labels = false;
};

struct FilterConfig {
  size_t min_tokens = 0, max_tokens = 0;  // 0: no bound; needs `model`
  size_t min_chars = 1;                   // fewest non-space characters in every field but a prompt
  double max_repetition = 0;              // largest share of repeated word trigrams; 0: off
  double max_symbol_ratio = 0;            // largest share of characters that are neither letters, digits nor spaces; 0: off
  std::vector<std::string> labels;        // allowed labels; empty: any
};

struct PiiPattern {
  std::string name;   // placeholder [NAME]
  std::string regex;  // PCRE2, UTF mode
};

struct PiiConfig {
  std::string mode = "redact";  // redact, drop or off
  std::vector<std::string> types{"email", "phone", "iban", "credit_card", "ip_address"};
  std::vector<PiiPattern> patterns;
};

struct DedupConfig {
  bool exact = true;
  std::string near = "drop";  // drop (keep one per cluster), group (keep all, split keeps them together) or off
  double threshold = 0.8;     // Jaccard similarity of character shingles
  int shingle = 5;            // characters per shingle
  int permutations = 128;
  int bands = 16;             // LSH bands; permutations / bands rows each
  std::string keep = "first";  // first or longest
};

struct SplitConfig {
  double validation = 0, test = 0;  // below 1: a fraction of records; 1 or more: a count
  bool stratify = true;              // by label, when there is a label_field
};

struct LeakageConfig {
  int ngram = 8;                        // words per n-gram
  double threshold = 0.5;               // share of a record's n-grams found on the other side that makes a leak
  std::vector<std::string> eval_files;  // JSONL evaluation sets the training data must not contain
  std::string action = "report";        // report or drop (the leaking training records)
};

struct AugmentConfig {
  int copies = 0;  // augmented copies per training record; 0: off
  double char_dropout = 0, word_dropout = 0, swap = 0, case_flip = 0;  // chance per character or word
  std::vector<std::string> templates;  // paraphrases of a prompt, with {prompt} where it goes
  // Model-based (needs `model`): per training record, this many copies whose
  // input the model rephrased, and this many whose input is a question the
  // model wrote for the record's answer.
  ModelRef model;
  int paraphrases = 0, questions = 0;
  int max_tokens = 96;
  double temperature = 0.7;
};

// Retrieval-assisted synthesis from `documents` sources: chunks indexed with
// BM25; per chunk the model writes questions, each answered from the chunks
// BM25 retrieves for it, and kept only when its own chunk is among them.
struct SynthesizeConfig {
  ModelRef model;
  size_t chunk_words = 200, overlap_words = 40;
  int questions = 1;   // per chunk
  size_t retrieve = 3;  // chunks put before the question when answering it
  int max_tokens = 128;
  double temperature = 0.7;  // for questions; answers are greedy
  std::string format = "completion";  // of the pairs: completion or chat
};

// Labels for `unlabelled` sources from a model: the label it finds most
// probable, kept when that probability reaches the threshold.
struct PseudoLabelConfig {
  ModelRef model;  // with `classifier`, a trained head decides; else each label's log-likelihood
  double threshold = 0.9;
  std::vector<std::string> labels;  // empty: filter.labels, else the labels of the labelled records
};

struct PipelineConfig {
  std::string path;      // the file it was read from
  std::string base_dir;  // relative paths in the file are relative to this (the file's folder)
  std::string output_dir;
  std::string model;        // GGUF file or HF directory, for token lengths; empty: lengths in characters
  std::string label_field;  // empty: unlabelled
  uint64_t seed = 42;
  std::vector<SourceConfig> sources;
  NormalizeConfig normalize;
  FilterConfig filter;
  PiiConfig pii;
  DedupConfig dedup;
  SplitConfig split;
  LeakageConfig leakage;
  AugmentConfig augment;
  SynthesizeConfig synthesize;
  PseudoLabelConfig pseudo_label;
};

// Throws whet::Error "[file:line] key: problem" for unknown keys, wrong types,
// values out of range and missing sources. Relative paths are taken from the
// directory of the config file. `added_sources` (absolute paths) follow the
// file's own, so a config whose data arrives elsewhere (`whet watch` adds the
// files it collected) may list no source of its own.
PipelineConfig load_pipeline_config(const std::string& path, const std::vector<SourceConfig>& added_sources = {});
PipelineConfig parse_pipeline_config(const std::string& yaml_text, const std::string& path,
                                     const std::vector<SourceConfig>& added_sources = {});

// `path` as the config means it: relative paths start at the config's folder.
std::string resolve_path(const PipelineConfig& config, const std::string& path);

// The config with every value resolved, as JSON (for the manifest).
std::string pipeline_config_json(const PipelineConfig& config);

std::string_view source_type_name(SourceType type);
// The type a source without `type:` has: by extension, JSONL for any other.
SourceType source_type_from_extension(const std::string& path);
std::string_view encoding_name(Encoding encoding);
std::string_view source_role_name(SourceRole role);
bool has_source_role(const PipelineConfig& config, SourceRole role);
// Whether a CSV/TSV column may be mapped to `field`: kColumnFields or the label field.
bool is_column_field(std::string_view field, const std::string& label_field);

}  // namespace whet
