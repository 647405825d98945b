#pragma once
// A report as a list of blocks (headings, paragraphs, tables, bar charts),
// rendered to Markdown for terminals and diffs, and to one self-contained HTML
// file whose charts are inline SVG. Both renderings come from the same blocks,
// so they cannot disagree.
#include <string>
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

using Block = std::variant<Heading, Paragraph, Table, BarChart>;

struct Document {
  std::string title;
  std::vector<Block> blocks;
};

std::string render_markdown(const Document& document);
std::string render_html(const Document& document);
std::string svg_bar_chart(const BarChart& chart);

// Histogram bins for lengths: `bins` equal-width ranges from 0 to the maximum, labelled "a-b".
BarChart length_histogram(std::string title, const std::vector<size_t>& lengths, size_t bins);

}  // namespace whet
