#include "prepare/normalize.h"

#include <utf8proc.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>

#include "core/error.h"
#include "core/parallel_for.h"
#include "core/utf8.h"
#include "prepare/stages.h"

namespace whet {
namespace {

bool is_space_separator(utf8proc_int32_t cp) {
  return cp == ' ' || cp == '\t' || (cp > 0x7F && utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS);
}

bool starts_with_ci(std::string_view text, size_t at, std::string_view word) {
  if (text.size() - at < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != word[i]) return false;
  return true;
}

// "&amp;" -> "&"; returns the bytes consumed, 0 when `text` at `at` is no reference we know.
size_t decode_entity(std::string_view text, size_t at, std::string& out) {
  static constexpr std::pair<std::string_view, std::string_view> kNamed[] = {
      {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&#39;", "'"}, {"&nbsp;", " "}};
  for (const auto& [name, value] : kNamed) {
    if (text.substr(at, name.size()) == name) {
      out += value;
      return name.size();
    }
  }
  if (text.substr(at, 2) != "&#") return 0;
  const bool hex = at + 2 < text.size() && (text[at + 2] == 'x' || text[at + 2] == 'X');
  size_t i = at + (hex ? 3 : 2);
  const size_t digits_start = i;
  long cp = 0;
  for (; i < text.size() && i - digits_start < 7; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (!(hex ? std::isxdigit(c) : std::isdigit(c))) break;
    cp = cp * (hex ? 16 : 10) + (std::isdigit(c) ? c - '0' : std::tolower(c) - 'a' + 10);
  }
  if (i == digits_start || i >= text.size() || text[i] != ';' || !utf8proc_codepoint_valid(utf8proc_int32_t(cp)) ||
      cp == 0)
    return 0;
  append_utf8(out, int32_t(cp));
  return i + 1 - at;
}

bool is_block_tag(std::string_view tag) {
  static constexpr std::string_view kBlocks[] = {"p", "br", "div", "li", "ul", "ol", "tr", "table", "h1", "h2",
                                                 "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "section"};
  for (std::string_view b : kBlocks)
    if (tag == b) return true;
  return false;
}

}  // namespace

std::string unicode_normalize(std::string_view text, bool compatibility) {
  utf8proc_uint8_t* mapped = nullptr;
  const int options = UTF8PROC_STABLE | UTF8PROC_COMPOSE | (compatibility ? UTF8PROC_COMPAT : 0);
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          utf8proc_ssize_t(text.size()), &mapped, utf8proc_option_t(options));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(mapped, &std::free);
  if (n < 0) fail("normalize", "utf8proc: {}", utf8proc_errmsg(n));
  return std::string(reinterpret_cast<const char*>(mapped), size_t(n));
}

std::string remove_control_characters(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const CodePoint& c : code_points(text)) {
    const bool control =
        c.value != '\t' && c.value != '\n' && c.value != '\r' && utf8proc_category(c.value) == UTF8PROC_CATEGORY_CC;
    if (!control) out += c.bytes;
  }
  return out;
}

std::string normalize_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool line_start = true, pending_space = false;
  size_t newlines = 0;  // line breaks waiting to be written
  for (const CodePoint& c : code_points(text)) {
    if (c.value == '\n') {
      pending_space = false;
      line_start = true;
      ++newlines;
      continue;
    }
    if (c.value == '\r') continue;  // CR LF: the LF ends the line; a lone CR is dropped with it
    if (is_space_separator(c.value)) {
      if (line_start && !out.empty()) {
        if (newlines) out.append(std::min<size_t>(newlines, 2), '\n');
        newlines = 0;
        out += c.value == '\t' ? '\t' : ' ';  // indentation is kept as written
      } else if (!line_start) {
        pending_space = true;
      }
      continue;
    }
    if (newlines && !out.empty()) out.append(std::min<size_t>(newlines, 2), '\n');
    newlines = 0;
    if (pending_space) out += ' ';
    pending_space = line_start = false;
    out += c.bytes;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t' || out.back() == '\n')) out.pop_back();
  return out;
}

std::string strip_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '&') {
      const size_t used = decode_entity(text, i, out);
      if (used) {
        i += used;
        continue;
      }
    }
    const bool tag_start = c == '<' && i + 1 < text.size() &&
                           (std::isalpha(static_cast<unsigned char>(text[i + 1])) || text[i + 1] == '/' || text[i + 1] == '!');
    if (!tag_start) {
      out += c;
      ++i;
      continue;
    }
    if (text.substr(i, 4) == "<!--") {
      const size_t close = text.find("-->", i + 4);
      i = close == std::string_view::npos ? text.size() : close + 3;
      continue;
    }
    const size_t close = text.find('>', i);
    if (close == std::string_view::npos) {  // not a tag after all
      out += c;
      ++i;
      continue;
    }
    const size_t name_start = i + (text[i + 1] == '/' ? 2 : 1);
    size_t name_end = name_start;
    while (name_end < close && std::isalnum(static_cast<unsigned char>(text[name_end]))) ++name_end;
    std::string name(text.substr(name_start, name_end - name_start));
    for (char& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    i = close + 1;
    if ((name == "script" || name == "style") && text[name_start - 1] != '/') {
      // Skip to the matching end tag: its content is code, not text.
      size_t end = i;
      while (end < text.size() && !(text[end] == '<' && starts_with_ci(text, end, "</" + name))) ++end;
      const size_t end_close = text.find('>', end);
      i = end_close == std::string_view::npos ? text.size() : end_close + 1;
    } else if (is_block_tag(name)) {
      out += '\n';
    }
  }
  return out;
}

std::string lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const CodePoint& c : code_points(text)) append_utf8(out, utf8proc_tolower(c.value));
  return out;
}

void normalize_stage(std::vector<Record>& records, const NormalizeConfig& config, const std::string& label_field,
                     Ledger& ledger) {
  ledger.begin(stage_name(Stage::Normalize), records.size());
  struct Step {
    bool on;
    const char* what;
    std::string (*apply)(std::string_view);
  };
  const Step steps[] = {
      {config.strip_html, "html stripped", strip_html},
      {config.unicode != "none", config.unicode == "nfkc" ? "unicode nfkc" : "unicode nfc",
       config.unicode == "nfkc" ? +[](std::string_view t) { return unicode_normalize(t, true); }
                                : +[](std::string_view t) { return unicode_normalize(t, false); }},
      {config.control, "control characters removed", remove_control_characters},
      {config.whitespace, "whitespace normalized", normalize_whitespace},
  };
  // Records are independent, so they are normalized in parallel; the ledger
  // hears of the changes afterwards, in record order, to stay deterministic.
  std::vector<std::vector<const char*>> changes(records.size());
  parallel_for(records.size(), [&](size_t i) {
    Record& record = records[i];
    for (const Step& step : steps) {
      if (!step.on) continue;
      bool changed = false;
      for (std::string* field : text_fields(record)) {
        std::string after = step.apply(*field);
        if (after != *field) *field = std::move(after), changed = true;
      }
      if (std::string* label = label_slot(record, label_field); label && !label_is_training_field(label_field)) {
        std::string after = step.apply(*label);
        if (after != *label) *label = std::move(after), changed = true;
      }
      if (changed) changes[i].push_back(step.what);
    }
    if (std::string* label = label_slot(record, label_field); label && config.lowercase_labels) {
      std::string lower = lowercase(*label);
      if (lower != *label) *label = std::move(lower), changes[i].push_back("label lowercased");
    }
  });
  for (size_t i = 0; i < records.size(); ++i)
    for (const char* what : changes[i]) ledger.change(records[i], what);
  ledger.end(records.size());
}

}  // namespace whet
