#pragma once
// A report as a list of blocks (headings, paragraphs, tables, bar charts,
// figures), rendered to Markdown for terminals and diffs, and to one
// self-contained HTML file whose charts are inline SVG. Both renderings come
// from the same blocks, so they cannot disagree. The HTML is also well-formed
// XML (XHTML syntax), so a test can parse it.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace whet {

struct Heading {
  std::string text;
  int level = 2;
};
struct Paragraph {
  std::string text;
};
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};
struct BarChart {
  std::string title;
  std::vector<std::string> labels;
  std::vector<double> values;
};

// A picture drawn by the caller as an inline <svg> element, its texts escaped
// with escape_html. HTML only: Markdown has no place for it and leaves it out.
struct Figure {
  std::string svg;
};

using Block = std::variant<Heading, Paragraph, Table, BarChart, Figure>;

struct Document {
  std::string title;
  std::vector<Block> blocks;
};

std::string render_markdown(const Document& document);
std::string render_html(const Document& document);
std::string svg_bar_chart(const BarChart& chart);

// `text` as HTML or XML text or a quoted attribute value: & < > " ' as
// entities, and what XML may not hold (bytes outside valid UTF-8, control
// characters other than tab and line breaks) as U+FFFD.
std::string escape_html(std::string_view text);

// Histogram bins for lengths: `bins` equal-width ranges from 0 to the maximum, labelled "a-b".
BarChart length_histogram(std::string title, const std::vector<size_t>& lengths, size_t bins);

}  // namespace whet
