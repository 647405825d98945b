#include "io/document.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/utf8.h"

namespace whet {
namespace {

// Table cells: a '|' or a line break would end the cell.
std::string escape_cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) { return v == std::floor(v) ? fmt::format("{}", int64_t(v)) : fmt::format("{:.3g}", v); }

struct Markdown {
  std::string& out;
  void operator()(const Heading& h) const { out += fmt::format("{} {}\n\n", std::string(size_t(h.level), '#'), h.text); }
  void operator()(const Figure&) const {}
  void operator()(const Paragraph& p) const { out += p.text + "\n\n"; }
  void operator()(const Table& t) const {
    if (t.rows.empty()) return;
    auto row = [&](const std::vector<std::string>& cells) {
      out += "|";
      for (const std::string& c : cells) out += " " + escape_cell(c) + " |";
      out += "\n";
    };
    row(t.header);
    out += "|";
    for (size_t i = 0; i < t.header.size(); ++i) out += "---|";
    out += "\n";
    for (const auto& r : t.rows) row(r);
    out += "\n";
  }
  // A chart in text: one row per bar, drawn with block characters.
  void operator()(const BarChart& c) const {
    if (c.values.empty()) return;
    const double top = std::max(1e-12, *std::max_element(c.values.begin(), c.values.end()));
    out += fmt::format("{}\n\n```\n", c.title);
    size_t width = 0;
    for (const std::string& l : c.labels) width = std::max(width, l.size());
    for (size_t i = 0; i < c.values.size(); ++i) {
      const size_t bar = size_t(std::lround(c.values[i] / top * 40));
      std::string blocks;
      for (size_t b = 0; b < bar; ++b) blocks += "\u2588";
      out += fmt::format("{:>{}} | {} {}\n", c.labels[i], width, blocks, number(c.values[i]));
    }
    out += "```\n\n";
  }
};

struct Html {
  std::string& out;
  void operator()(const Heading& h) const { out += fmt::format("<h{0}>{1}</h{0}>\n", h.level, escape_html(h.text)); }
  void operator()(const Paragraph& p) const { out += "<p>" + escape_html(p.text) + "</p>\n"; }
  void operator()(const Table& t) const {
    if (t.rows.empty()) return;
    out += "<table>\n<tr>";
    for (const std::string& c : t.header) out += "<th>" + escape_html(c) + "</th>";
    out += "</tr>\n";
    for (const auto& r : t.rows) {
      out += "<tr>";
      for (const std::string& c : r) out += "<td>" + escape_html(c) + "</td>";
      out += "</tr>\n";
    }
    out += "</table>\n";
  }
  void operator()(const BarChart& c) const {
    if (!c.values.empty()) out += svg_bar_chart(c);
  }
  void operator()(const Figure& f) const { out += "<figure>" + f.svg + "</figure>\n"; }
};

}  // namespace

std::string escape_html(std::string_view text) {
  std::string out;
  for (const CodePoint& c : code_points(text)) {
    switch (c.value) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\t': case '\n': case '\r': out += char(c.value); break;
      default:
        if (c.invalid() || c.value < 0x20) append_utf8(out, kReplacementCharacter);
        else out.append(c.bytes);
    }
  }
  return out;
}

std::string render_markdown(const Document& document) {
  std::string out = "# " + document.title + "\n\n";
  for (const Block& block : document.blocks) std::visit(Markdown{out}, block);
  return out;
}

std::string render_html(const Document& document) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"/><title>{0}</title>\n<style>"
      "body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}"
      "td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}</style></head><body>\n<h1>{0}</h1>\n",
      escape_html(document.title));
  for (const Block& block : document.blocks) std::visit(Html{out}, block);
  return out + "</body></html>\n";
}

std::string svg_bar_chart(const BarChart& c) {
  constexpr int kBarHeight = 18, kLabelWidth = 160, kBarWidth = 360, kGap = 4;
  const double top = c.values.empty() ? 1 : std::max(1e-12, *std::max_element(c.values.begin(), c.values.end()));
  const int height = 24 + int(c.values.size()) * (kBarHeight + kGap);
  std::string out = fmt::format(
      "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<text x=\"0\" y=\"14\" font-weight=\"bold\">{}</text>\n",
      kLabelWidth + kBarWidth + 80, height, escape_html(c.title));
  for (size_t i = 0; i < c.values.size(); ++i) {
    const int y = 24 + int(i) * (kBarHeight + kGap);
    const int width = int(std::lround(c.values[i] / top * kBarWidth));
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
        "fill=\"#4a7ab5\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
        kLabelWidth - 6, y + 13, escape_html(c.labels[i]), kLabelWidth, y, width, kBarHeight,
        kLabelWidth + width + 4, y + 13, number(c.values[i]));
  }
  return out + "</svg></figure>\n";
}

BarChart length_histogram(std::string title, const std::vector<size_t>& lengths, size_t bins) {
  BarChart chart{std::move(title), {}, {}};
  if (lengths.empty()) return chart;
  const size_t top = *std::max_element(lengths.begin(), lengths.end());
  const size_t width = std::max<size_t>(1, (top + bins) / bins);  // bins of equal width covering 0..top
  std::vector<double> counts((top / width) + 1);
  for (size_t n : lengths) ++counts[n / width];
  for (size_t b = 0; b < counts.size(); ++b) {
    chart.labels.push_back(fmt::format("{}-{}", b * width, (b + 1) * width - 1));
    chart.values.push_back(counts[b]);
  }
  return chart;
}

}  // namespace whet
