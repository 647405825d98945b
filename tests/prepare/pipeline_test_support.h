#pragma once
// Shared by the pipeline tests: records made from JSONL text, and a config
// written to a scratch folder next to its data.
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../data/data_test_support.h"
#include "prepare/pipeline_config.h"
#include "prepare/record.h"

namespace whet::test {

inline Record record_from(std::string_view jsonl, size_t id = 0, std::string file = "t.jsonl") {
  Record r;
  r.example = parse_example(jsonl, DataFormat::Auto, file, id + 1);
  r.id = r.group = id;
  return r;
}

inline Record completion(const std::string& prompt, const std::string& answer, size_t id = 0) {
  Record r;
  r.example.format = DataFormat::Completion;
  r.example.file = "t.jsonl";
  r.example.line = id + 1;
  r.example.prompt = prompt;
  r.example.completion = answer;
  r.id = r.group = id;
  return r;
}

// The pipeline YAML written as dir/p.yaml and loaded, so its relative paths start at dir.
inline PipelineConfig config_in(const std::string& dir, const std::string& yaml) {
  std::ofstream(dir + "/p.yaml", std::ios::binary) << yaml;
  return load_pipeline_config(dir + "/p.yaml");
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace whet::test
