#pragma once
// A scatter plot drawn as an inline <svg> element for a self-contained HTML
// page (no script, no external link): a title, a frame with labelled ticks on
// both axes (tune/plot_axis.h), dots that each carry a tooltip (an SVG <title>),
// lines and a legend. Every text given is escaped, so a hostile parameter name
// or note stays text. Coordinates are pixels from the top left; the
// constants below say where the data area lies, so a test can work out where a
// value is drawn.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tune/plot_axis.h"

namespace whet::tune {

struct Point {
  double x, y;
};

class SvgPlot {
 public:
  static constexpr double kWidth = 560, kHeight = 320;  // the whole picture
  // The frame that holds the data; the axes' ends lie kInset inside it, so no
  // dot sits on the frame, and the bottom edge is left for trials without a value.
  static constexpr double kFrameLeft = 80, kFrameTop = 40, kFrameWidth = 450, kFrameHeight = 220;
  static constexpr double kInset = 12;
  static constexpr double kDotRadius = 4;

  SvgPlot(std::string_view title, Axis x, std::string_view x_label, Axis y, std::string_view y_label);

  // Where a value lies, in pixels.
  Point at(double x_value, double y_value) const { return {x_pixel(x_value), y_pixel(y_value)}; }
  double x_pixel(double value) const;
  double y_pixel(double value) const;
  // The bottom edge of the frame, where a trial without a value is marked.
  static double frame_bottom() { return kFrameTop + kFrameHeight; }

  void dot(Point where, std::string_view colour, std::string_view tooltip);
  void line(const std::vector<Point>& points, std::string_view colour);
  // A text in the middle of the frame (that it is empty, say).
  void message(std::string_view text);
  // Entries (colour, label) in a row above the frame, at its right.
  void legend(const std::vector<std::pair<std::string, std::string>>& entries);

  std::string svg() const;

 private:
  std::string axes() const;

  std::string title_, x_label_, y_label_;
  Axis x_, y_;
  std::string marks_;  // dots, lines, texts, in drawing order
};

}  // namespace whet::tune
