#pragma once
// A study's report.html read back as a browser would draw it, through
// tests/python/read_report_page.py (which parses it as XML): the page's text,
// and each plot's texts, dots and lines.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/run_whet.h"
#include "test_support.h"

namespace whet::test {

// The page at `path`; null, with a failure naming the parser's complaint, when it is not well-formed.
inline nlohmann::json read_report_page(const std::string& path) {
  const RunResult r =
      run_whet_command(test_python() + " " + source_path("tests/python/read_report_page.py") + " " + path);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}

// `html` written to a scratch folder `name`, then read as above.
inline nlohmann::json read_report_html(const std::string& html, const std::string& name) {
  const std::string path = scratch_dir(name) + "/report.html";
  std::ofstream(path) << html;
  return read_report_page(path);
}

}  // namespace whet::test
