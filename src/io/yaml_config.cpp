// The shared YAML config reader: files and documents, the field kinds and
// their limits, key walks with suggestions, and messages in one style.
#include "io/yaml_config.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <sstream>

#include "core/utf8.h"

namespace whet::yaml {

std::string shown(std::string_view text) {
  constexpr std::size_t kMaxShown = 60;
  const std::string_view kept = utf8_prefix(text, kMaxShown);
  return std::string(kept) + (kept.size() < text.size() ? "..." : "");
}

namespace {

std::string at_mark(std::string_view path, const YAML::Mark& mark) {
  return mark.is_null() ? std::string(path) : fmt::format("{}:{}", path, mark.line + 1);
}

// --- Scalars ---

std::string_view without_plus(std::string_view text) {
  return text.size() > 1 && text[0] == '+' && text[1] != '-' ? text.substr(1) : text;
}

std::optional<long long> to_integer(std::string_view text) {
  text = without_plus(text);
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> to_number(std::string_view text) {
  text = without_plus(text);
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// yes/no/on/off too: Axolotl reads YAML 1.1, where those are booleans.
std::optional<bool> to_bool(std::string_view text) {
  if (text.size() > 5) return std::nullopt;
  const std::string word = lower(text);
  if (word == "true" || word == "yes" || word == "on") return true;
  if (word == "false" || word == "no" || word == "off") return false;
  return std::nullopt;
}

// --- Suggestions ---

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t(0));
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The candidate a typo most likely meant, or "" when none is close.
std::string_view closest(std::string_view word, Names candidates) {
  if (word.size() > 64) return {};  // not a typo, and the distance would cost
  const std::string folded = lower(word);
  std::size_t best = std::clamp<std::size_t>(word.size() / 3, 1, 3) + 1;
  std::string_view found;
  for (std::string_view candidate : candidates) {
    const std::size_t d = edit_distance(folded, candidate);
    if (d < best) {
      best = d;
      found = candidate;
    }
  }
  return found;
}

// --- Documents ---

// Notes whether documents after the first hold anything. Walks events instead
// of calling YAML::LoadAll, which loops forever on some garbage (yaml-cpp #1040).
class DocumentScan final : public YAML::EventHandler {
 public:
  YAML::Mark start;
  bool has_content = false;

  void OnDocumentStart(const YAML::Mark& mark) override {
    start = mark;
    has_content = false;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { has_content = true; }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {
    has_content = true;
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    has_content = true;
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    has_content = true;
  }
  void OnMapEnd() override {}
};

// YAML::Load reads only the first document; keys after a '---' would be silently lost.
void reject_second_document(const std::string& text, std::string_view path) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentScan scan;
  constexpr int kDocumentsLooked = 8;  // bounds the loop yaml-cpp can get stuck in
  try {
    for (int i = 0; i < kDocumentsLooked && parser.HandleNextDocument(scan); ++i) {
      if (i > 0 && scan.has_content) {
        fail(at_mark(path, scan.start), "a second YAML document starts here; a config is one document");
      }
    }
  } catch (const YAML::Exception& e) {
    fail(at_mark(path, e.mark), "not valid YAML: {}", e.msg);
  }
}

}  // namespace

// --- Where values come from ---

std::string Input::origin() const {
  return file.empty() ? fmt::format("--set {}", shown(key)) : fmt::format("{}:{}", file, key_line + 1);
}

// Null nodes carry the mark of whatever follows them, and aliases that of
// their anchor, possibly lines above: both point at their key instead.
std::string Input::where(const YAML::Node& value) const {
  if (file.empty() || value.IsNull() || value.Mark().is_null() || value.Mark().line < key_line) return origin();
  return fmt::format("{}:{}", file, value.Mark().line + 1);
}

void Input::reject(const YAML::Node& value, std::string_view expected, std::string_view hint) const {
  fail(where(value), "{}: expected {}, got {}{}", key, expected, describe(value), hint);
}

const std::string& Input::scalar(const YAML::Node& value, std::string_view expected) const {
  if (!value.IsScalar()) reject(value, expected);
  return value.Scalar();
}

void Origins::note(const Input& in) { spots_[in.key] = Spot{in.origin(), describe(in.node)}; }

std::string Origins::where(std::string_view path) const {
  for (std::string_view p = path; !p.empty();) {
    if (const auto it = spots_.find(p); it != spots_.end()) return it->second.where;
    const std::size_t cut = p.find_last_of(".[");
    if (cut == std::string_view::npos) break;
    p = p.substr(0, cut);
  }
  return source_;
}

void Origins::reject(std::string_view path, std::string_view expected) const {
  const auto it = spots_.find(path);
  if (it == spots_.end()) fail(where(path), "{}: expected {}, but it is not set", path, expected);
  fail(it->second.where, "{}: expected {}, got {}", path, expected, it->second.got);
}

std::string Scope::where(std::string_view key) const {
  if (!key.empty()) return origins.where(path(key));
  return origins.where(std::string_view(prefix).substr(0, prefix.empty() ? 0 : prefix.size() - 1));
}

// --- Field kinds ---

std::string type_text(const Kind& kind) {
  struct Text_ {
    std::string operator()(const Integer& f) const {
      const std::string unset = f.minus_one_unsets ? ", or -1 for unset" : "";
      if (f.max >= INT_MAX) return fmt::format("integer >= {}{}", f.min, unset);
      return fmt::format("integer in [{}, {}]{}", f.min, f.max, unset);
    }
    std::string operator()(const Real& f) const {
      if (std::isinf(f.max)) return fmt::format("number {} {}", f.min_open ? ">" : ">=", f.min);
      return fmt::format("number in {}{}, {}{}", f.min_open ? "(" : "[", f.min, f.max, f.max_open ? ")" : "]");
    }
    std::string operator()(const Boolean&) const { return "true or false"; }
    std::string operator()(const Text&) const { return "string"; }
    std::string operator()(const Choice& f) const { return "one of " + join(f.names); }
    std::string operator()(const Strings& f) const {
      if (!f.allowed.empty()) return "list of " + join(f.allowed);
      return fmt::format("{} or list of {}s", f.noun, f.noun);
    }
    std::string operator()(const Section&) const { return "section of key: value lines"; }
    std::string operator()(const SectionList&) const { return "list of sections"; }
    std::string operator()(const Custom& f) const { return f.type; }
  };
  return std::visit(Text_{}, kind);
}

long long read_integer(const Input& in, const Integer& limits) {
  const std::string type = type_text(limits);
  const std::optional<long long> v = to_integer(in.scalar(in.node, type));
  const bool in_range = v && ((*v >= limits.min && *v <= limits.max) || (limits.minus_one_unsets && *v == -1));
  if (!in_range) in.reject(in.node, type);
  return *v;
}

double read_real(const Input& in, const Real& limits) {
  const std::string type = type_text(limits);
  const std::optional<double> v = to_number(in.scalar(in.node, type));
  const bool above_min = v && (limits.min_open ? *v > limits.min : *v >= limits.min);
  const bool below_max = v && (limits.max_open ? *v < limits.max : *v <= limits.max);
  if (!above_min || !below_max) in.reject(in.node, type);
  return *v;
}

bool read_boolean(const Input& in) {
  const std::optional<bool> v = to_bool(in.scalar(in.node, type_text(Boolean{})));
  if (!v) in.reject(in.node, type_text(Boolean{}));
  return *v;
}

std::string read_text(const Input& in) { return in.node.IsNull() ? "" : in.scalar(in.node, type_text(Text{})); }

std::size_t read_choice(const Input& in, const Choice& choice) {
  const std::string& name = in.scalar(in.node, type_text(choice));
  const auto it = std::find(choice.names.begin(), choice.names.end(), name);
  if (it == choice.names.end()) in.reject(in.node, type_text(choice), did_you_mean(name, choice.names));
  return std::size_t(it - choice.names.begin());
}

std::vector<std::string> read_strings(const Input& in, const Strings& strings) {
  const std::string one = strings.allowed.empty() ? std::string(strings.noun) : type_text(Choice{strings.allowed});
  std::vector<std::string> out;
  auto add = [&](const YAML::Node& item) {
    const std::string& text = in.scalar(item, one);
    if (text.empty()) in.reject(item, one);
    const bool allowed = strings.allowed.empty() ||
                         std::find(strings.allowed.begin(), strings.allowed.end(), text) != strings.allowed.end();
    if (!allowed) in.reject(item, one, did_you_mean(text, strings.allowed));
    out.push_back(text);
  };
  if (in.node.IsScalar()) {
    if (!in.node.Scalar().empty()) add(in.node);
  } else if (in.node.IsSequence()) {
    for (const YAML::Node& item : in.node) add(item);
  } else if (!in.node.IsNull()) {
    in.reject(in.node, type_text(strings));
  }
  return out;
}

// --- Text ---

std::string yaml_quoted(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string yaml_list(const std::vector<std::string>& items, bool quoted) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + (quoted ? yaml_quoted(item) : item);
  return "[" + out + "]";
}

namespace {

nlohmann::json scalar_to_json(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;
  if (s.empty() || s == "null" || s == "~") return nullptr;
  if (s == "true") return true;
  if (s == "false") return false;
  if (const std::optional<long long> i = to_integer(s)) return *i;
  char* end = nullptr;
  const double x = std::strtod(s.c_str(), &end);
  const bool number = end == s.c_str() + s.size() && s.find_first_of("xXpPnN") == std::string::npos;
  return number ? nlohmann::json(x) : nlohmann::json(s);
}

}  // namespace

nlohmann::json yaml_to_json(const YAML::Node& node, std::string_view path) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& entry : node) {
        const std::string key = entry.first.Scalar();
        if (object.contains(key)) fail(at_mark(path, entry.first.Mark()), "key '{}' is given twice", key);
        object[key] = yaml_to_json(entry.second, path);
      }
      return object;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      for (const auto& item : node) array.push_back(yaml_to_json(item, path));
      return array;
    }
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    default:
      return nullptr;
  }
}

std::string describe(const YAML::Node& node) {
  if (node.IsSequence()) return node.size() == 0 ? "an empty list" : "a list";
  if (node.IsMap()) return "a mapping";
  if (!node.IsScalar()) return "nothing";
  return "'" + shown(node.Scalar()) + "'";
}

std::string join(Names names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

std::string did_you_mean(std::string_view word, Names candidates, std::string_view prefix) {
  const std::string_view guess = closest(word, candidates);
  return guess.empty() ? "" : fmt::format("; did you mean '{}{}'?", prefix, guess);
}

// --- Tables ---

std::string TableNames::unknown_key_message(std::string_view name, std::string_view prefix) const {
  for (const auto& [other, ours] : other_spellings) {
    if (name == other) return fmt::format("unknown key '{}{}'; did you mean '{}{}'?", prefix, name, prefix, ours);
  }
  std::string hint = did_you_mean(name, names, prefix);
  if (hint.empty()) hint = fmt::format(" ({})", unknown_hint.empty() ? "known here: " + join(names) : unknown_hint);
  return fmt::format("unknown key '{}{}'{}", prefix, shown(name), hint);
}

void TableNames::walk(const Input& in, const std::function<void(std::size_t, const Input&)>& each) const {
  if (!in.node.IsMap()) in.reject(in.node, "key: value lines");
  const std::string prefix = in.key.empty() ? "" : in.key + ".";
  std::map<std::string, int, std::less<>> first_line;
  for (const auto& entry : in.node) {
    const YAML::Node& name = entry.first;
    const int line = name.Mark().is_null() ? in.key_line : name.Mark().line;
    const std::string where = in.file.empty() ? in.origin() : fmt::format("{}:{}", in.file, line + 1);
    if (!name.IsScalar()) fail(where, "{}keys are plain names, got {}", prefix, describe(name));
    if (const auto [it, inserted] = first_line.emplace(name.Scalar(), line); !inserted) {
      fail(where, "duplicate key '{}{}' (first set on line {})", prefix, shown(name.Scalar()), it->second + 1);
    }
    const auto found = std::find(names.begin(), names.end(), name.Scalar());
    if (found == names.end()) fail(where, "{}", unknown_key_message(name.Scalar(), prefix));
    each(std::size_t(found - names.begin()), Input{entry.second, prefix + name.Scalar(), in.file, line});
  }
}

// --- Reading ---

std::string read_config_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, not a YAML config file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open config file: {}", std::strerror(errno));
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), std::streamsize(text.size()));
  text.resize(std::size_t(in.gcount()));
  if (text.size() > kMaxConfigBytes) {
    fail(path, "is larger than {} bytes; a config is a few kilobytes (is this a data file?)", kMaxConfigBytes);
  }
  return text;
}

YAML::Node parse_document(const std::string& text, std::string_view path, std::string_view example) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    fail(at_mark(path, e.mark), "nested too deeply for a config");
  } catch (const YAML::Exception& e) {
    fail(at_mark(path, e.mark), "not valid YAML: {}", e.msg);
  }
  if (root.IsNull()) fail(path, "holds no settings; expected key: value lines such as '{}'", example);
  if (!root.IsMap()) {
    fail(at_mark(path, root.Mark()), "expected key: value lines at the top level, got {}", describe(root));
  }
  reject_second_document(text, path);
  return root;
}

std::pair<std::size_t, YAML::Node> parse_override(const TableNames& table, std::string_view item) {
  const std::size_t equals = item.find('=');
  if (equals == std::string_view::npos) fail(fmt::format("--set {}", shown(item)), "expected key=value");
  const std::string_view name = item.substr(0, equals);
  const std::string where = fmt::format("--set {}", shown(name));
  const auto found = std::find(table.names.begin(), table.names.end(), name);
  if (found == table.names.end()) fail(where, "{}", table.unknown_key_message(name, ""));
  try {
    return {std::size_t(found - table.names.begin()), YAML::Load(std::string(item.substr(equals + 1)))};
  } catch (const YAML::Exception& e) {
    fail(where, "{}: value is not valid YAML: {}", name, e.msg);
  }
}

}  // namespace whet::yaml
