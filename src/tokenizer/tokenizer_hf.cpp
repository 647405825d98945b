// Tokenizer <-> Hugging Face files: tokenizer.json (the `tokenizers` library's
// format) and tokenizer_config.json (transformers' settings beside it).
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/sentencepiece_bpe.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_loading.h"

namespace whet {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

// A value inside a JSON file together with the file and its key path, so that
// every complaint names both: "[dir/tokenizer.json] model.vocab: expected an object".
class Field {
 public:
  Field(const json& value, std::string_view file, std::string key) : value_(value), file_(file), key_(std::move(key)) {}

  [[noreturn]] void fail(std::string_view problem) const { whet::fail(file_, "{}: {}", key_, problem); }
  std::string_view file() const { return file_; }
  const std::string& key() const { return key_; }
  bool is_string() const { return value_.is_string(); }

  // A member that must be present (and not null).
  Field at(std::string_view name) const {
    auto member = find(name);
    if (!member) Field(value_, file_, child_key(name)).fail("missing");
    return *member;
  }
  // A member that may be absent; null counts as absent.
  std::optional<Field> find(std::string_view name) const {
    auto it = object().find(name);
    if (it == object().end() || it->second.is_null()) return std::nullopt;
    return Field(it->second, file_, child_key(name));
  }
  std::vector<Field> elements() const {
    if (!value_.is_array()) fail(expected("an array"));
    std::vector<Field> out;
    for (size_t i = 0; i < value_.size(); ++i) out.emplace_back(value_[i], file_, fmt::format("{}[{}]", key_, i));
    return out;
  }
  const json::object_t& object() const {
    if (!value_.is_object()) fail(expected("an object"));
    return value_.get_ref<const json::object_t&>();
  }
  const std::string& string() const {
    if (!value_.is_string()) fail(expected("a string"));
    return value_.get_ref<const std::string&>();
  }
  bool boolean() const {
    if (!value_.is_boolean()) fail(expected("true or false"));
    return value_.get<bool>();
  }
  int64_t integer() const {
    if (!value_.is_number_integer()) fail(expected("an integer"));
    return value_.get<int64_t>();
  }
  bool boolean_or(std::string_view name, bool fallback) const {
    auto member = find(name);
    return member ? member->boolean() : fallback;
  }

 private:
  std::string child_key(std::string_view name) const {
    return key_.empty() ? std::string(name) : fmt::format("{}.{}", key_, name);
  }
  std::string expected(std::string_view what) const { return fmt::format("expected {}, found {}", what, value_.type_name()); }

  const json& value_;
  std::string_view file_;
  std::string key_;
};

json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: {}", std::strerror(errno));
  std::stringstream contents;
  contents << in.rdbuf();
  try {
    return json::parse(contents.str());
  } catch (const json::exception& e) {
    fail(path, "not valid JSON: {}", e.what());
  }
}

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

int find_token(const std::vector<std::string>& tokens, std::string_view token) {
  for (size_t id = 0; id < tokens.size(); ++id)
    if (tokens[id] == token) return int(id);
  return -1;
}

// ---- reading tokenizer.json ----

// Every id of model.vocab and added_tokens, with its token and type.
class VocabularyBuilder {
 public:
  void add(const Field& id_field, const std::string& token, TokenType type) {
    int64_t id = id_field.integer();
    if (id < 0 || id >= kMaxTokens) id_field.fail(fmt::format("token id {} is out of range", id));
    auto [it, inserted] = entries_.try_emplace(int32_t(id), token, type);
    // An added token may restate a vocabulary entry; two different tokens may not share an id.
    if (!inserted && it->second.first != token)
      id_field.fail(fmt::format("id {} is given to both '{}' and '{}'", id, it->second.first, token));
    it->second.second = type;
  }

  void build(TokenizerSpec& spec, const Field& vocab_field) const {
    if (entries_.empty()) vocab_field.fail("the vocabulary is empty");
    for (const auto& [id, entry] : entries_) {
      if (size_t(id) != spec.tokens.size()) vocab_field.fail(fmt::format("no token has id {}", spec.tokens.size()));
      spec.tokens.push_back(entry.first);
      spec.types.push_back(entry.second);
    }
  }

 private:
  static constexpr int64_t kMaxTokens = int64_t(1) << 24;  // far beyond any real vocabulary
  std::map<int32_t, std::pair<std::string, TokenType>> entries_;
};

void read_vocabulary(const Field& root, const Field& model, TokenizerSpec& spec) {
  VocabularyBuilder builder;
  Field vocab = model.at("vocab");
  for (const auto& [token, id] : vocab.object()) builder.add(vocab.at(token), token, TokenType::Normal);
  if (auto added = root.find("added_tokens")) {
    for (const Field& entry : added->elements()) {
      bool special = entry.boolean_or("special", false);
      builder.add(entry.at("id"), entry.at("content").string(), special ? TokenType::Control : TokenType::UserDefined);
    }
  }
  builder.build(spec, vocab);
}

void read_merges(const Field& model, TokenizerSpec& spec) {
  Field merges = model.at("merges");
  std::vector<Field> entries = merges.elements();
  spec.merges.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const Field& entry = entries[i];
    if (entry.is_string()) {
      spec.merges.push_back(split_merge(entry.string(), merges.file(), merges.key(), i));
      continue;
    }
    std::vector<Field> pair = entry.elements();
    if (pair.size() != 2) entry.fail("expected a pair of tokens");
    spec.merges.emplace_back(pair[0].string(), pair[1].string());
  }
}

// BPE with byte_fallback is SentencePiece style; without, byte-level.
TokenizerModel read_model_kind(const Field& model) {
  if (auto type = model.find("type"); type && type->string() != "BPE")
    type->fail(
        fmt::format("'{}': only BPE tokenizers (byte-level, or with byte_fallback) are supported", type->string()));
  return model.boolean_or("byte_fallback", false) ? TokenizerModel::SentencePieceBpe : TokenizerModel::ByteLevelBpe;
}

// A "String" pattern of a Replace step must be `from`, its content `to`.
void check_replace(const Field& step, std::string_view from, std::string_view to) {
  auto pattern = step.at("pattern").find("String");
  if (!pattern || pattern->string() != from || step.at("content").string() != to)
    step.fail(fmt::format("only Replace '{}' -> '{}' is supported", from, to));
}

// What the normalizer of a SentencePiece-style tokenizer.json does: Replace
// ' ' -> '▁', optionally after Prepend '▁' (Llama 2), alone or in a Sequence.
struct SentencePieceNormalizer {
  bool replaces_spaces = false;
  bool prepends_mark = false;

  void read(const Field& step) {
    const std::string& type = step.at("type").string();
    if (type == "Sequence") {
      for (const Field& inner : step.at("normalizers").elements()) read(inner);
    } else if (type == "Replace") {
      check_replace(step, " ", kSpaceMark);
      replaces_spaces = true;
    } else if (type == "Prepend") {
      if (step.at("prepend").string() != kSpaceMark) step.at("prepend").fail("only Prepend '▁' is supported");
      if (replaces_spaces) step.fail("Prepend after Replace is not supported");
      prepends_mark = true;
    } else {
      step.fail(fmt::format("normalizer '{}' is not supported with byte_fallback", type));
    }
  }
};

void read_normalizer(const Field& root, TokenizerSpec& spec) {
  auto normalizer = root.find("normalizer");
  if (spec.model == TokenizerModel::SentencePieceBpe) {
    SentencePieceNormalizer normalization;
    if (normalizer) normalization.read(*normalizer);
    if (normalization.prepends_mark) spec.space_prefix = SpacePrefix::EveryStretch;
    // Metaspace (read with the pre-tokenizer) replaces spaces instead.
    auto pre = root.find("pre_tokenizer");
    bool metaspace = pre && pre->at("type").string() == "Metaspace";
    if (!normalization.replaces_spaces && !metaspace)
      fail(root.file(), "normalizer: byte_fallback BPE needs spaces replaced by '▁' (normalizer Replace or "
                        "pre-tokenizer Metaspace)");
    return;
  }
  // NFC is accepted and not applied: it changes only text that is not already NFC.
  if (normalizer && normalizer->at("type").string() != "NFC")
    normalizer->fail(fmt::format("normalizer '{}' is not supported", normalizer->at("type").string()));
}

// A SentencePiece-style pre-tokenizer: none, or Metaspace (Mistral).
void read_metaspace(const Field& root, TokenizerSpec& spec) {
  auto pre = root.find("pre_tokenizer");
  if (!pre) return;
  if (pre->at("type").string() != "Metaspace")
    pre->at("type").fail(
        fmt::format("'{}' is not supported with byte_fallback (only Metaspace)", pre->at("type").string()));
  if (pre->at("replacement").string() != kSpaceMark) pre->at("replacement").fail("only '▁' is supported");
  if (spec.space_prefix != SpacePrefix::None) pre->fail("Metaspace after a Prepend normalizer is not supported");
  // Older files say add_prefix_space instead of prepend_scheme.
  std::string scheme = pre->find("prepend_scheme") ? pre->at("prepend_scheme").string()
                                                     : (pre->boolean_or("add_prefix_space", true) ? "always" : "never");
  if (scheme == "always")
    spec.space_prefix = SpacePrefix::EveryStretchUnlessSpace;
  else if (scheme == "first")
    spec.space_prefix = SpacePrefix::FirstStretchUnlessSpace;
  else if (scheme != "never")
    pre->at("prepend_scheme").fail(fmt::format("'{}' is not one of always, first, never", scheme));
  spec.split_at_spaces = pre->boolean_or("split", true);
}

// The pre-tokenizer as the regex list of pre_tokenizer.h. It must end with
// ByteLevel: a split after the byte mapping would see "Ġ" instead of spaces.
class PreTokenizerReader {
 public:
  std::vector<std::string> read(const Field& root) {
    Field pre = root.at("pre_tokenizer");
    add(pre);
    if (!byte_level_seen_) pre.fail("no ByteLevel step: only byte-level BPE tokenizers are supported");
    return std::move(regexes_);
  }

 private:
  void add(const Field& step) {
    const std::string& type = step.at("type").string();
    if (type == "Sequence") {
      for (const Field& inner : step.at("pretokenizers").elements()) add(inner);
      return;
    }
    if (byte_level_seen_) step.fail(fmt::format("'{}' after ByteLevel is not supported", type));
    if (type == "ByteLevel") {
      byte_level_seen_ = true;
      // Both defaults are those of `tokenizers`.
      if (step.boolean_or("add_prefix_space", true)) step.fail("ByteLevel with add_prefix_space is not supported");
      if (step.boolean_or("use_regex", true)) regexes_.emplace_back(kGpt2Regex);
    } else if (type == "Digits") {
      regexes_.emplace_back(step.boolean_or("individual_digits", false) ? kEachDigitRegex : kDigitRunRegex);
    } else if (type == "Split") {
      if (step.at("behavior").string() != "Isolated") step.at("behavior").fail("only 'Isolated' is supported");
      if (step.boolean_or("invert", false)) step.at("invert").fail("inverted splits are not supported");
      regexes_.push_back(step.at("pattern").at("Regex").string());
    } else {
      step.fail(fmt::format("pre-tokenizer '{}' is not supported", type));
    }
  }

  std::vector<std::string> regexes_;
  bool byte_level_seen_ = false;
};

// The token the post-processor puts before the text, if any. Only the templates
// "$A" and "<bos> $A" are supported; anything else would change the ids.
std::optional<std::string> read_bos_of_post_processor(const Field& processor) {
  const std::string& type = processor.at("type").string();
  if (type == "ByteLevel") return std::nullopt;
  if (type == "Sequence") {
    std::optional<std::string> bos;
    for (const Field& inner : processor.at("processors").elements())
      if (auto inner_bos = read_bos_of_post_processor(inner)) bos = inner_bos;
    return bos;
  }
  if (type != "TemplateProcessing") processor.fail(fmt::format("post-processor '{}' is not supported", type));
  Field single = processor.at("single");
  std::vector<Field> pieces = single.elements();
  bool plain = pieces.size() == 1 && pieces[0].find("Sequence");
  bool bos_then_text = pieces.size() == 2 && pieces[0].find("SpecialToken") && pieces[1].find("Sequence");
  if (!plain && !bos_then_text) single.fail("only the templates '$A' and '<bos> $A' are supported");
  if (plain) return std::nullopt;
  return pieces[0].at("SpecialToken").at("id").string();
}

// ---- reading tokenizer_config.json ----

// A token setting: "bos_token": "<s>" or {"content": "<s>", ...}; -1 when absent.
int read_config_token(const Field& config, std::string_view name, const std::vector<std::string>& tokens) {
  auto field = config.find(name);
  if (!field) return -1;
  const std::string& token = field->is_string() ? field->string() : field->at("content").string();
  int id = find_token(tokens, token);
  if (id < 0) field->fail(fmt::format("'{}' is not in the vocabulary", token));
  return id;
}

// A string, or a list of named templates of which "default" is the one used.
std::string read_chat_template(const Field& config) {
  auto field = config.find("chat_template");
  if (!field) return "";
  if (field->is_string()) return field->string();
  for (const Field& named : field->elements())
    if (named.at("name").string() == "default") return named.at("template").string();
  field->fail("no template is named 'default'");
}

void apply_config(const std::string& dir, std::optional<std::string> post_processor_bos, TokenizerSpec& spec) {
  std::string path = dir + "/tokenizer_config.json";
  json document = std::filesystem::exists(path) ? read_json_file(path) : json::object();
  Field config(document, path, "");

  spec.bos_id = read_config_token(config, "bos_token", spec.tokens);
  spec.eos_id = read_config_token(config, "eos_token", spec.tokens);
  spec.pad_id = read_config_token(config, "pad_token", spec.tokens);
  if (int unk = read_config_token(config, "unk_token", spec.tokens); unk >= 0) spec.unk_id = unk;
  if (post_processor_bos && spec.bos_id < 0) spec.bos_id = find_token(spec.tokens, *post_processor_bos);
  spec.add_bos = config.boolean_or("add_bos_token", post_processor_bos.has_value());
  spec.chat_template = read_chat_template(config);
  // Recent transformers versions keep the template in a file of its own.
  if (spec.chat_template.empty()) spec.chat_template = read_text_file(dir + "/chat_template.jinja").value_or("");
  spec.eot_id = find_end_of_turn(spec.tokens);
}

// ---- writing ----

ordered_json byte_level_json(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

// The inverse of PreTokenizerReader: Digits and ByteLevel where a regex is theirs, Split otherwise.
ordered_json pre_tokenizer_json(std::vector<std::string> regexes) {
  bool gpt2_last = !regexes.empty() && regexes.back() == kGpt2Regex;
  if (gpt2_last) regexes.pop_back();
  ordered_json steps = ordered_json::array();
  for (const std::string& regex : regexes) {
    if (regex == kEachDigitRegex || regex == kDigitRunRegex)
      steps.push_back({{"type", "Digits"}, {"individual_digits", regex == kEachDigitRegex}});
    else
      steps.push_back({{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}});
  }
  steps.push_back(byte_level_json(gpt2_last));
  if (steps.size() == 1) return steps[0];
  return {{"type", "Sequence"}, {"pretokenizers", steps}};
}

ordered_json bos_post_processor_json(const std::string& bos, int bos_id) {
  auto special = [&](int type_id) { return ordered_json{{"SpecialToken", {{"id", bos}, {"type_id", type_id}}}}; };
  auto sequence = [](const char* name, int type_id) {
    return ordered_json{{"Sequence", {{"id", name}, {"type_id", type_id}}}};
  };
  return {{"type", "TemplateProcessing"},
          {"single", {special(0), sequence("A", 0)}},
          {"pair", {special(0), sequence("A", 0), special(1), sequence("B", 1)}},
          {"special_tokens", {{bos, {{"id", bos}, {"ids", {bos_id}}, {"tokens", {bos}}}}}}};
}

ordered_json added_tokens_json(const TokenizerSpec& spec) {
  ordered_json added = ordered_json::array();
  for (size_t id = 0; id < spec.tokens.size(); ++id) {
    if (spec.types[id] != TokenType::Control && spec.types[id] != TokenType::UserDefined) continue;
    added.push_back({{"id", id}, {"content", spec.tokens[id]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", spec.types[id] == TokenType::Control}});
  }
  return added;
}

// In id order, built in one piece: adding keys one by one to an ordered object
// searches it each time, which is quadratic in the vocabulary size.
ordered_json vocab_json(const TokenizerSpec& spec) {
  std::vector<std::pair<const std::string, ordered_json>> entries;
  entries.reserve(spec.tokens.size());
  for (size_t id = 0; id < spec.tokens.size(); ++id) entries.emplace_back(spec.tokens[id], id);
  return ordered_json::object_t(entries.begin(), entries.end());
}

// A vocabulary read from GGUF has scores instead of merges; `tokenizers` needs the merges they imply.
MergeList merges_to_write(const TokenizerSpec& spec) {
  if (spec.model != TokenizerModel::SentencePieceBpe || !spec.merges.empty()) return spec.merges;
  std::vector<bool> normal(spec.tokens.size());
  for (size_t id = 0; id < spec.tokens.size(); ++id) normal[id] = spec.types[id] == TokenType::Normal;
  return merges_from_scores(spec.tokens, normal, spec.scores);
}

ordered_json model_json(const TokenizerSpec& spec) {
  ordered_json merges = ordered_json::array();
  for (const auto& [left, right] : merges_to_write(spec)) merges.push_back({left, right});
  return {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", spec.unk_id >= 0 ? ordered_json(spec.tokens[spec.unk_id]) : ordered_json(nullptr)},
          {"continuing_subword_prefix", nullptr},
          {"end_of_word_suffix", nullptr},
          {"fuse_unk", false},
          {"byte_fallback", spec.model == TokenizerModel::SentencePieceBpe},
          {"ignore_merges", spec.ignore_merges},
          {"vocab", vocab_json(spec)},
          {"merges", std::move(merges)}};
}

ordered_json config_json(const TokenizerSpec& spec) {
  ordered_json config = {{"add_bos_token", spec.add_bos}, {"add_eos_token", false}};
  for (auto [name, id] : {std::pair{"bos_token", spec.bos_id}, {"eos_token", spec.eos_id}, {"pad_token", spec.pad_id},
                          {"unk_token", spec.unk_id}})
    if (id >= 0) config[name] = spec.tokens[id];
  if (!spec.chat_template.empty()) config["chat_template"] = spec.chat_template;
  // transformers would otherwise rewrite " ." to "." and the like when decoding.
  config["clean_up_tokenization_spaces"] = false;
  config["tokenizer_class"] = "PreTrainedTokenizerFast";
  return config;
}

ordered_json replace_json(std::string_view from, std::string_view to) {
  return {{"type", "Replace"}, {"pattern", {{"String", from}}}, {"content", to}};
}

// The normalizer, pre-tokenizer and decoder of a SentencePiece-style vocabulary,
// spelled as Llama 2's tokenizer.json (Prepend + Replace) unless only Metaspace
// (Mistral) can say what the spec does.
void add_sentencepiece_steps(const TokenizerSpec& spec, ordered_json& tokenizer) {
  bool metaspace = spec.split_at_spaces || spec.space_prefix == SpacePrefix::EveryStretchUnlessSpace ||
                   spec.space_prefix == SpacePrefix::FirstStretchUnlessSpace;
  if (metaspace) {
    std::string scheme = spec.space_prefix == SpacePrefix::None                      ? "never"
                         : spec.space_prefix == SpacePrefix::FirstStretchUnlessSpace ? "first"
                                                                                    : "always";
    if (spec.space_prefix == SpacePrefix::EveryStretch)
      fail("tokenizer", "a '▁' before every stretch with splits at spaces cannot be written as tokenizer.json");
    tokenizer["normalizer"] = nullptr;
    tokenizer["pre_tokenizer"] = {{"type", "Metaspace"},
                                  {"replacement", kSpaceMark},
                                  {"prepend_scheme", scheme},
                                  {"split", spec.split_at_spaces}};
  } else {
    ordered_json steps = ordered_json::array();
    if (spec.space_prefix == SpacePrefix::EveryStretch) steps.push_back({{"type", "Prepend"}, {"prepend", kSpaceMark}});
    steps.push_back(replace_json(" ", kSpaceMark));
    tokenizer["normalizer"] = {{"type", "Sequence"}, {"normalizers", steps}};
    tokenizer["pre_tokenizer"] = nullptr;
  }
  ordered_json decoders = {replace_json(kSpaceMark, " "), {{"type", "ByteFallback"}}, {{"type", "Fuse"}}};
  if (spec.space_prefix != SpacePrefix::None)
    decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  tokenizer["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
}

void write_json_file(const std::string& path, const ordered_json& value) {
  std::string text;
  try {
    text = value.dump(2);
  } catch (const json::exception& e) {
    fail(path, "cannot be written as JSON: {}", e.what());  // e.g. a token that is not UTF-8
  }
  write_file_atomic(path, text + "\n");
}

}  // namespace

Tokenizer Tokenizer::from_hf_dir(const std::string& dir) {
  std::string path = dir + "/tokenizer.json";
  json document = read_json_file(path);
  Field root(document, path, "");
  Field model = root.at("model");
  TokenizerSpec spec;
  spec.model = read_model_kind(model);
  read_normalizer(root, spec);
  read_vocabulary(root, model, spec);
  read_merges(model, spec);
  spec.ignore_merges = model.boolean_or("ignore_merges", false);
  if (auto unk = model.find("unk_token")) {
    spec.unk_id = find_token(spec.tokens, unk->string());
    if (spec.unk_id < 0) unk->fail(fmt::format("'{}' is not in the vocabulary", unk->string()));
  }
  if (spec.model == TokenizerModel::SentencePieceBpe) {
    read_metaspace(root, spec);
  } else {
    std::vector<std::string> regexes = PreTokenizerReader().read(root);
    auto known_name = pre_tokenizer_name(regexes);
    spec.pre = known_name.value_or("custom");
    if (!known_name) spec.pre_regexes = std::move(regexes);
  }

  auto processor = root.find("post_processor");
  apply_config(dir, processor ? read_bos_of_post_processor(*processor) : std::nullopt, spec);
  return Tokenizer(std::move(spec), SpecSource{path, "model.merges", "pre_tokenizer", "model.merges"});
}

void Tokenizer::write_hf_files(const std::string& dir) const {
  const TokenizerSpec& s = spec();
  bool adds_bos = s.add_bos && s.bos_id >= 0;
  ordered_json tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added_tokens_json(s)},
      {"normalizer", nullptr},
      {"pre_tokenizer", nullptr},
      {"post_processor", adds_bos ? bos_post_processor_json(s.tokens[s.bos_id], s.bos_id) : ordered_json(nullptr)},
      {"decoder", nullptr},
      {"model", model_json(s)},
  };
  if (s.model == TokenizerModel::SentencePieceBpe) {
    add_sentencepiece_steps(s, tokenizer);
  } else {
    std::vector<std::string> regexes = s.pre == "custom" ? s.pre_regexes : pre_tokenizer_regexes(s.pre).value();
    tokenizer["pre_tokenizer"] = pre_tokenizer_json(std::move(regexes));
    tokenizer["decoder"] = byte_level_json(true);
  }
  write_json_file(dir + "/tokenizer.json", tokenizer);
  write_json_file(dir + "/tokenizer_config.json", config_json(s));
}

}  // namespace whet
