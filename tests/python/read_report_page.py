#!/usr/bin/env python3
"""Reads a report page that Whet wrote (a study's report.html) as XML, the
way a test can check what a browser would draw.

    read_report_page.py PAGE.html

The page must be well-formed XML: if it is not, the parser's message is printed
and the exit code is 1. Otherwise prints one JSON object:
  "offline": what would reach beyond the page (script elements, link elements,
             href/src attributes), which must be empty;
  "svgs": each <svg> element in page order, as
      "texts": the text of each <text> element, in order,
      "dots": each <circle> with a <title> (a data point): cx, cy, fill, title,
      "lines": each <polyline>'s points as [[x, y], ...];
  "text": all the page's text outside the svgs, in order, joined by newlines.
"""
import json
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def read_svg(svg):
    dots = []
    for circle in svg.iter(SVG + "circle"):
        title = circle.find(SVG + "title")
        if title is None:
            continue
        dots.append({"cx": float(circle.get("cx")), "cy": float(circle.get("cy")),
                     "fill": circle.get("fill"), "title": title.text or ""})
    lines = [[[float(v) for v in point.split(",")] for point in line.get("points").split()]
             for line in svg.iter(SVG + "polyline")]
    return {"texts": [t.text or "" for t in svg.iter(SVG + "text")], "dots": dots, "lines": lines}


def page_text(element, out):
    if element.tag.startswith(SVG):
        return
    if element.text and element.text.strip():
        out.append(element.text.strip())
    for child in element:
        page_text(child, out)
        if child.tail and child.tail.strip():
            out.append(child.tail.strip())


def main():
    try:
        root = ET.parse(sys.argv[1]).getroot()
    except ET.ParseError as error:
        print(f"{sys.argv[1]}: not well-formed XML: {error}")
        return 1
    offline = []
    for element in root.iter():
        name = element.tag.split("}")[-1]
        if name in ("script", "link", "iframe", "object", "embed"):
            offline.append(f"<{name}>")
        offline += [f"{name} {key}" for key in element.attrib if key.split("}")[-1] in ("href", "src")]
    text = []
    page_text(root, text)
    print(json.dumps({"offline": offline, "svgs": [read_svg(svg) for svg in root.iter(SVG + "svg")],
                      "text": "\n".join(text)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
