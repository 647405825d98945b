#pragma once
// The one reader of Whet's YAML config files (training, data pipeline, and any
// config to come). A config is a table of keys: each key is one row (name,
// field with its limits, help), and reading, dumping, help text and docs tests
// all walk those rows. A nested section is a table of its own for a sub-struct;
// a list of sections reads each item through one table.
//
// Errors are whet::Error "[file:line] key: problem", the key given by its full
// dotted path ("dedup.threshold", "sources[0].weight"), or "[--set key] ..." for
// a command-line override. Unknown keys name the closest known one.
//
// Hostile input: files are at most kMaxConfigBytes, yaml-cpp's depth guard
// bounds nesting, a second YAML document is refused rather than ignored, and
// repeated keys are refused (YAML readers keep one of the two silently).
#include <yaml-cpp/yaml.h>

#include <climits>
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace whet::yaml {

using Names = std::span<const std::string_view>;

// A config is a few kilobytes; much more is likely a data file given by
// mistake, and yaml-cpp spends hundreds of bytes per node.
inline constexpr std::size_t kMaxConfigBytes = std::size_t(1) << 20;

// --- Where values come from ---

// One YAML value being read: its node, its dotted key, and its file and line
// (or the --set flag it came from).
struct Input {
  const YAML::Node& node;
  std::string key;        // "lora_r", "dedup.threshold", "sources[0].path"
  std::string_view file;  // empty: from --set
  int key_line = 0;       // 0-based line of the key in file

  // "file:line" of the key, or "--set key".
  std::string origin() const;
  // The line of `node` (inside this value), or the key's line when the node has none of its own.
  std::string where(const YAML::Node& node) const;
  // "[where] key: expected EXPECTED, got 'what was written'HINT"
  [[noreturn]] void reject(const YAML::Node& node, std::string_view expected, std::string_view hint = {}) const;
  const std::string& scalar(const YAML::Node& node, std::string_view expected) const;
};

// Where each key was set, by dotted path, for errors about values that are
// wrong only together with others ("warmup_ratio: cannot be combined with
// warmup_steps (set at train.yaml:20)").
class Origins {
 public:
  explicit Origins(std::string source) : source_(std::move(source)) {}  // the file, or "--set"

  void note(const Input& in);
  bool has(std::string_view path) const { return spots_.count(path) > 0; }
  // The line of the key; for a key not set, that of the nearest enclosing
  // section or list item that was, else the source.
  std::string where(std::string_view path) const;
  // "[where] path: expected EXPECTED, got 'value'" (or ", but it is not set").
  [[noreturn]] void reject(std::string_view path, std::string_view expected) const;

 private:
  struct Spot {
    std::string where, got;
  };
  std::string source_;
  std::map<std::string, Spot, std::less<>> spots_;
};

// The keys of one section as checks see them: paths relative to the section.
struct Scope {
  Origins& origins;
  std::string prefix;  // "", "dedup.", "sources[2]."

  std::string path(std::string_view key) const { return prefix + std::string(key); }
  bool has(std::string_view key) const { return origins.has(path(key)); }
  std::string where(std::string_view key = {}) const;
  [[noreturn]] void reject(std::string_view key, std::string_view expected) const {
    origins.reject(path(key), expected);
  }
};

// --- Field kinds, with the limits each checks ---

struct Integer {
  long long min;
  long long max = INT_MAX;
  bool minus_one_unsets = false;  // -1 is allowed too, meaning "unset"
};
struct Real {
  double min;
  bool min_open;  // true: the value must be above min
  double max = std::numeric_limits<double>::infinity();
  bool max_open = true;
};
struct Boolean {};
struct Text {};  // any string; nothing (`key:`) reads as ""
struct Choice {
  Names names;
};
struct Strings {  // one string or a list; items not empty
  std::string_view noun = "string";
  Names allowed = {};  // empty: any
};
struct Section {};
struct SectionList {};
struct Custom {
  std::string type;
};
using Kind = std::variant<Integer, Real, Boolean, Text, Choice, Strings, Section, SectionList, Custom>;

// The type as help, docs and errors show it: "integer >= 1", "number in [0, 1)", "one of a, b".
std::string type_text(const Kind& kind);

long long read_integer(const Input& in, const Integer& limits);
double read_real(const Input& in, const Real& limits);
bool read_boolean(const Input& in);
std::string read_text(const Input& in);
std::size_t read_choice(const Input& in, const Choice& choice);  // index into choice.names
std::vector<std::string> read_strings(const Input& in, const Strings& strings);

// Double-quoted, so any string reads back unchanged whatever it looks like (null, true, 12, "- x").
std::string yaml_quoted(std::string_view text);
std::string yaml_list(const std::vector<std::string>& items, bool quoted);
// What the user wrote, for a message: shortened to 60 bytes of whole UTF-8
// characters and "..." (fail() escapes what is not printable).
std::string shown(std::string_view text);
// "a list", "a mapping", "nothing" or the scalar quoted and shortened, for messages.
std::string describe(const YAML::Node& node);

// A YAML value as JSON, for configs that hold free-form objects (a grader):
// quoted scalars stay strings, plain ones read as YAML 1.2's core schema reads
// them (null, true/false, integers, numbers), else strings. A mapping key given
// twice is a whet::Error "[path:line] key 'k' is given twice".
nlohmann::json yaml_to_json(const YAML::Node& node, std::string_view path);
std::string join(Names names);

// "; did you mean 'x'?" for the candidate closest to `word`, or "" when none is close.
std::string did_you_mean(std::string_view word, Names candidates, std::string_view prefix = {});

// --- Tables of keys ---

template <typename S>
struct Field {
  Kind kind;
  std::function<void(S&, const Input&, Origins&)> read;
  std::function<std::string(const S&)> yaml;  // the value as YAML, for dumps; unset for sections
  std::function<nlohmann::ordered_json(const S&)> json;
  std::function<bool(const S&)> empty = {};  // for required keys: whether the value is still empty
};

template <typename S>
struct Key {
  std::string_view name;
  Field<S> field;
  std::string_view help;
  std::string_view group = {};  // a heading in help and docs
  bool required = false;
};

using Spellings = std::span<const std::pair<std::string_view, std::string_view>>;

// What a table says about its keys as names: for unknown keys, empty files and help.
struct TableNames {
  std::vector<std::string_view> names;
  Spellings other_spellings = {};  // names other tools use -> ours, suggested for unknown keys
  std::string_view unknown_hint;   // said when no key is close; empty: the known keys are listed
  std::string_view example;        // a key: value line, for an empty file

  // "unknown key 'dedup.treshold'; did you mean 'dedup.threshold'?"
  std::string unknown_key_message(std::string_view name, std::string_view prefix) const;
  // Calls each(index of the key among names, its value) for every entry of the
  // mapping `in`; whet::Error at the key's line for one that is unknown,
  // repeated or not a plain name, and at the value for one that is no mapping.
  void walk(const Input& in, const std::function<void(std::size_t, const Input&)>& each) const;
};

template <typename S>
struct Table : TableNames {
  std::vector<Key<S>> keys;
  std::function<void(S&, const Scope&)> finish = {};  // checks within the section once its keys are read

  Table(std::vector<Key<S>> rows, TableNames about = {}, std::function<void(S&, const Scope&)> checks = {})
      : TableNames(std::move(about)), keys(std::move(rows)), finish(std::move(checks)) {
    names.clear();
    for (const Key<S>& key : keys) names.push_back(key.name);
  }
};

// --- Reading ---

// The text of a config file: whet::Error for a folder, an unreadable file or one over kMaxConfigBytes.
std::string read_config_file(const std::string& path);
// One YAML document holding a mapping: whet::Error for syntax, nesting too deep,
// a second document, an empty file (suggesting `example`) or another top level.
YAML::Node parse_document(const std::string& text, std::string_view path, std::string_view example);

// The keys of `in` (a mapping) into `out`, each through its row.
template <typename S>
void read_keys(S& out, const Table<S>& table, const Input& in, Origins& origins) {
  table.walk(in, [&](std::size_t index, const Input& value) {
    origins.note(value);
    table.keys[index].field.read(out, value, origins);
  });
}

// Required keys and the table's own checks, once every key is in (after overrides too).
template <typename S>
void finish(S& out, const Table<S>& table, const Scope& scope) {
  for (const Key<S>& key : table.keys) {
    if (key.required && key.field.empty(out)) {
      fail(scope.where(key.name), "{}: required but not set ({})", scope.path(key.name), key.help);
    }
  }
  if (table.finish) table.finish(out, scope);
}

// The top level of a document (from parse_document) into `out`.
template <typename S>
void read_document(S& out, const Table<S>& table, const YAML::Node& root, std::string_view file, Origins& origins) {
  read_keys(out, table, Input{root, "", file, 0}, origins);
}

// "key=value" from the command line, the value read as YAML.
std::pair<std::size_t, YAML::Node> parse_override(const TableNames& table, std::string_view item);
template <typename S>
void read_override(S& out, const Table<S>& table, std::string_view item, Origins& origins) {
  const auto [index, value] = parse_override(table, item);
  const Input in{value, std::string(table.keys[index].name), {}, 0};
  origins.note(in);
  table.keys[index].field.read(out, in, origins);
}

// Every key's value as YAML, one "name: value" line each, under "# group"
// headings: for flat tables (a section has no one-line value).
template <typename S>
std::string dump(const S& config, const Table<S>& table) {
  std::string out;
  std::string_view group;
  for (const Key<S>& key : table.keys) {
    WHET_ASSERT(key.field.yaml);
    if (key.group != group) {
      group = key.group;
      out += fmt::format("\n# {}\n", group);
    }
    out += fmt::format("{}: {}\n", key.name, key.field.yaml(config));
  }
  return out;
}

template <typename S>
nlohmann::ordered_json to_json(const S& config, const Table<S>& table) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const Key<S>& key : table.keys) out[std::string(key.name)] = key.field.json(config);
  return out;
}

// --- Fields, bound to a member of S ---
// `member` is a pointer to a data member (&TrainConfig::lora_r) or a function
// returning a reference into S (for members of members).

template <typename S, typename M>
using MemberType = std::remove_cvref_t<std::invoke_result_t<M, S&>>;

// The struct of a pointer to data member; a function needs its struct named: text<Sub>(function).
template <typename M>
struct StructOfMember;
template <typename T, typename S>
struct StructOfMember<T S::*> {
  using type = S;
};
template <typename Given, typename M>
using StructOf =
    typename std::conditional_t<std::is_void_v<Given>, StructOfMember<M>, std::type_identity<Given>>::type;

template <typename Given = void, typename M, typename S = StructOf<Given, M>>
Field<S> integer(M member, Integer limits) {
  return {limits,
          [member, limits](S& s, const Input& in, Origins&) {
            std::invoke(member, s) = static_cast<MemberType<S, M>>(read_integer(in, limits));
          },
          [member](const S& s) { return fmt::format("{}", std::invoke(member, s)); },
          [member](const S& s) { return nlohmann::ordered_json(std::invoke(member, s)); }};
}

template <typename Given = void, typename M, typename S = StructOf<Given, M>>
Field<S> real(M member, Real limits) {
  return {limits, [member, limits](S& s, const Input& in, Origins&) { std::invoke(member, s) = read_real(in, limits); },
          [member](const S& s) { return fmt::format("{}", std::invoke(member, s)); },
          [member](const S& s) { return nlohmann::ordered_json(std::invoke(member, s)); }};
}

template <typename Given = void, typename M, typename S = StructOf<Given, M>>
Field<S> boolean(M member) {
  return {Boolean{}, [member](S& s, const Input& in, Origins&) { std::invoke(member, s) = read_boolean(in); },
          [member](const S& s) { return std::string(std::invoke(member, s) ? "true" : "false"); },
          [member](const S& s) { return nlohmann::ordered_json(std::invoke(member, s)); }};
}

template <typename Given = void, typename M, typename S = StructOf<Given, M>>
Field<S> text(M member) {
  return {Text{}, [member](S& s, const Input& in, Origins&) { std::invoke(member, s) = read_text(in); },
          [member](const S& s) { return yaml_quoted(std::invoke(member, s)); },
          [member](const S& s) { return nlohmann::ordered_json(std::invoke(member, s)); },
          [member](const S& s) { return std::invoke(member, s).empty(); }};
}

// One of `names`, into a string member (the name), or an enum or bool (its index).
template <typename Given = void, typename M, typename S = StructOf<Given, M>>
Field<S> choice(M member, Names names) {
  using T = MemberType<S, M>;
  auto name_of = [member, names](const S& s) {
    if constexpr (std::is_same_v<T, std::string>) {
      return std::invoke(member, s);
    } else {
      const auto index = static_cast<std::size_t>(std::invoke(member, s));
      WHET_ASSERT(index < names.size());
      return std::string(names[index]);
    }
  };
  return {Choice{names},
          [member, names](S& s, const Input& in, Origins&) {
            const std::size_t index = read_choice(in, Choice{names});
            if constexpr (std::is_same_v<T, std::string>) {
              std::invoke(member, s) = std::string(names[index]);
            } else {
              std::invoke(member, s) = static_cast<T>(index);
            }
          },
          name_of, [name_of](const S& s) { return nlohmann::ordered_json(name_of(s)); }};
}

template <typename Given = void, typename M, typename S = StructOf<Given, M>>
Field<S> strings(M member, Strings spec = {}) {
  return {spec, [member, spec](S& s, const Input& in, Origins&) { std::invoke(member, s) = read_strings(in, spec); },
          [member](const S& s) { return yaml_list(std::invoke(member, s), true); },
          [member](const S& s) { return nlohmann::ordered_json(std::invoke(member, s)); },
          [member](const S& s) { return std::invoke(member, s).empty(); }};
}

// A nested mapping read through its own table; nothing (`key:`) keeps the defaults.
template <typename Given = void, typename M, typename S = StructOf<Given, M>>
Field<S> section(M member, const Table<MemberType<S, M>>& table) {
  return {Section{},
          [member, &table](S& s, const Input& in, Origins& origins) {
            if (in.node.IsNull()) return;
            read_keys(std::invoke(member, s), table, in, origins);
            finish(std::invoke(member, s), table, Scope{origins, in.key + "."});
          },
          {}, [member, &table](const S& s) { return to_json(std::invoke(member, s), table); }};
}

// A list of mappings, each read through `table` into a new item.
template <typename Given = void, typename M, typename S = StructOf<Given, M>>
Field<S> section_list(M member, const Table<typename MemberType<S, M>::value_type>& table) {
  using Item = typename MemberType<S, M>::value_type;
  return {SectionList{},
          [member, &table](S& s, const Input& in, Origins& origins) {
            std::vector<Item> items;
            if (!in.node.IsNull() && !in.node.IsSequence()) in.reject(in.node, type_text(SectionList{}));
            for (const YAML::Node& node : in.node) {
              const Input item{node, fmt::format("{}[{}]", in.key, items.size()), in.file,
                               node.Mark().is_null() ? in.key_line : node.Mark().line};
              origins.note(item);
              read_keys(items.emplace_back(), table, item, origins);
              finish(items.back(), table, Scope{origins, item.key + "."});
            }
            std::invoke(member, s) = std::move(items);
          },
          {},
          [member, &table](const S& s) {
            nlohmann::ordered_json out = nlohmann::ordered_json::array();
            for (const Item& item : std::invoke(member, s)) out.push_back(to_json(item, table));
            return out;
          },
          [member](const S& s) { return std::invoke(member, s).empty(); }};
}

}  // namespace whet::yaml
