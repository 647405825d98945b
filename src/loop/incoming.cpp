#include "loop/incoming.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "train/run_record.h"  // content_hash

namespace whet::loop {

namespace {

namespace fs = std::filesystem;

bool is_data_file(const fs::directory_entry& entry) {
  const std::string name = entry.path().filename().string();
  return entry.is_regular_file() && name.front() != '.' && name.ends_with(".jsonl");
}

int64_t count_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  int64_t records = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) ++records;
  return records;
}

bool consumed(const WatchState& state, const std::string& name, const std::string& hash) {
  return std::any_of(state.inputs.begin(), state.inputs.end(),
                     [&](const InputFile& in) { return in.source == name && in.hash == hash; });
}

}  // namespace

std::vector<NewFile> new_files(const std::string& folder, const WatchState& state) {
  std::vector<NewFile> files;
  if (folder.empty() || !fs::is_directory(folder)) return files;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (!is_data_file(entry)) continue;
    NewFile file{entry.path().filename().string(), entry.path().string(), 0, content_hash(entry.path().string())};
    if (consumed(state, file.name, file.hash)) continue;
    file.records = count_records(file.path);
    files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(), [](const NewFile& a, const NewFile& b) { return a.name < b.name; });
  return files;
}

}  // namespace whet::loop
