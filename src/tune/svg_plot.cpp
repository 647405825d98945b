// A scatter plot as inline SVG (tune/svg_plot.h).
#include "tune/svg_plot.h"

#include <fmt/format.h>

#include "io/document.h"

namespace whet::tune {
namespace {

constexpr double kTickLength = 5;
constexpr double kLegendEntryWidth = 110;
constexpr const char* kInk = "#333";

std::string px(double v) { return fmt::format("{:.2f}", v); }

}  // namespace

SvgPlot::SvgPlot(std::string_view title, Axis x, std::string_view x_label, Axis y, std::string_view y_label)
    : title_(title), x_label_(x_label), y_label_(y_label), x_(std::move(x)), y_(std::move(y)) {}

double SvgPlot::x_pixel(double value) const {
  return kFrameLeft + kInset + x_.fraction(value) * (kFrameWidth - 2 * kInset);
}

double SvgPlot::y_pixel(double value) const {
  return kFrameTop + kFrameHeight - kInset - y_.fraction(value) * (kFrameHeight - 2 * kInset);
}

void SvgPlot::dot(Point where, std::string_view colour, std::string_view tooltip) {
  marks_ += fmt::format(
      "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" fill-opacity=\"0.85\"><title>{}</title></circle>\n",
      px(where.x), px(where.y), kDotRadius, escape_html(colour), escape_html(tooltip));
}

void SvgPlot::line(const std::vector<Point>& points, std::string_view colour) {
  if (points.empty()) return;
  std::string coordinates;
  for (const Point& p : points) coordinates += (coordinates.empty() ? "" : " ") + px(p.x) + "," + px(p.y);
  marks_ += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", coordinates,
                        escape_html(colour));
}

void SvgPlot::message(std::string_view text) {
  marks_ += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#777\">{}</text>\n",
                        px(kFrameLeft + kFrameWidth / 2), px(kFrameTop + kFrameHeight / 2), escape_html(text));
}

void SvgPlot::legend(const std::vector<std::pair<std::string, std::string>>& entries) {
  double x = kFrameLeft + kFrameWidth - kLegendEntryWidth * double(entries.size());
  for (const auto& [colour, label] : entries) {
    marks_ += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
                          px(x + kDotRadius), px(kFrameTop - 10), kDotRadius, escape_html(colour),
                          px(x + 3 * kDotRadius), px(kFrameTop - 6), escape_html(label));
    x += kLegendEntryWidth;
  }
}

// The frame, each axis's ticks with their labels, and the axes' names.
std::string SvgPlot::axes() const {
  std::string out = fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{}\"/>\n",
                                kFrameLeft, kFrameTop, kFrameWidth, kFrameHeight, kInk);
  const double bottom = frame_bottom();
  for (const Tick& tick : x_.ticks) {
    const std::string x = px(x_pixel(tick.value));
    out += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\"/><text x=\"{0}\" y=\"{4}\" "
        "text-anchor=\"middle\">{5}</text>\n",
        x, px(bottom), px(bottom + kTickLength), kInk, px(bottom + kTickLength + 12), escape_html(tick.label));
  }
  for (const Tick& tick : y_.ticks) {
    const std::string y = px(y_pixel(tick.value));
    out += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\"/><text x=\"{4}\" y=\"{1}\" "
        "text-anchor=\"end\" dominant-baseline=\"middle\">{5}</text>\n",
        px(kFrameLeft - kTickLength), y, px(kFrameLeft), kInk, px(kFrameLeft - kTickLength - 3),
        escape_html(tick.label));
  }
  const double y_middle = kFrameTop + kFrameHeight / 2;
  return out + fmt::format(
                   "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n"
                   "<text x=\"14\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">{}</text>\n",
                   px(kFrameLeft + kFrameWidth / 2), px(kHeight - 8), escape_html(x_label_), px(y_middle),
                   px(y_middle), escape_html(y_label_));
}

std::string SvgPlot::svg() const {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"11\" fill=\"{2}\">\n<text x=\"{3}\" y=\"16\" font-size=\"13\" "
      "font-weight=\"bold\">{4}</text>\n{5}{6}</svg>\n",
      kWidth, kHeight, kInk, kFrameLeft, escape_html(title_), axes(), marks_);
}

}  // namespace whet::tune
