// Dealing the training records into folds (tune/fold_split.h).
#include "tune/fold_split.h"

#include <fmt/format.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/jsonl_reader.h"
#include "data/shuffle.h"

namespace whet::tune {
namespace {

constexpr const char* kWhere = "--folds";

// Every non-blank line of the files, as the training readers see it (BOM and CR removed).
std::vector<std::string> read_records(const std::vector<std::string>& paths) {
  std::vector<std::string> records;
  JsonlLines lines;
  lines.on_line = [&](std::string_view line, size_t) { records.emplace_back(line); };
  lines.on_blank = [] {};
  lines.on_error = [](const Error& error, size_t) { throw error; };  // it names the file and line
  for (const std::string& path : paths) for_each_jsonl_line(path, path, lines);
  return records;
}

std::string joined(const std::vector<std::string>& records) {
  std::string text;
  for (const std::string& record : records) text += record + '\n';
  return text;
}

}  // namespace

std::vector<int> assign_folds(std::size_t count, int folds, uint64_t seed) {
  WHET_ASSERT(folds >= 1);
  const std::vector<std::size_t> order = shuffled_order(count, seed);
  std::vector<int> fold(count);
  for (std::size_t i = 0; i < count; ++i) fold[order[i]] = int(i % std::size_t(folds));
  return fold;
}

std::vector<FoldFiles> fold_files(const std::string& dir, int folds) {
  std::vector<FoldFiles> files;
  for (int k = 0; k < folds; ++k)
    files.push_back({fmt::format("{}/{}/train.jsonl", dir, k), fmt::format("{}/{}/val.jsonl", dir, k)});
  return files;
}

FoldSplit split_into_folds(const std::vector<std::string>& train_paths, int folds, uint64_t seed) {
  if (folds < 2) fail(kWhere, "{} folds: cross-validation needs at least 2", folds);
  if (train_paths.empty())
    fail(kWhere, "cross-validation splits train_data, and the config has none (a task_sequence cannot be split)");
  std::vector<std::string> records = read_records(train_paths);
  if (records.size() < std::size_t(folds))
    fail(kWhere, "{} folds of {} records: each fold needs a record to validate on; use at most {} folds", folds,
         records.size(), records.size());
  const std::vector<int> fold = assign_folds(records.size(), folds, seed);
  FoldSplit split;
  split.folds.resize(std::size_t(folds));
  for (std::size_t i = 0; i < records.size(); ++i) split.folds[std::size_t(fold[i])].push_back(std::move(records[i]));
  return split;
}

std::vector<FoldFiles> write_fold_files(const FoldSplit& split, const std::string& dir) {
  const std::vector<FoldFiles> files = fold_files(dir, int(split.folds.size()));
  for (std::size_t k = 0; k < files.size(); ++k) {
    std::filesystem::create_directories(std::filesystem::path(files[k].train).parent_path());
    std::string train;
    for (std::size_t other = 0; other < split.folds.size(); ++other)
      if (other != k) train += joined(split.folds[other]);
    write_file_atomic(files[k].train, train);
    write_file_atomic(files[k].validation, joined(split.folds[k]));
  }
  return files;
}

}  // namespace whet::tune
