#pragma once
// The data of k-fold cross-validation (docs/tune.md, "Cross-validation"): the
// records of the training config's train_data (each non-blank line of its
// JSONL files, in file order) dealt into K folds by a seeded shuffle, so that
// every record is in exactly one fold, whole, and fold sizes differ by at most
// one. Fold k's run trains on the other folds and validates on fold k; the
// same seed deals the same folds, so every trial of a study (and the study
// resumed) sees the same ones.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace whet::tune {

// The fold (0..folds-1) of each of `count` records: a shuffled order
// (data/shuffle.h, the same on every standard library) dealt round-robin.
std::vector<int> assign_folds(std::size_t count, int folds, uint64_t seed);

// Fold k's two files.
struct FoldFiles {
  std::string train;       // every record of the other folds
  std::string validation;  // fold k's records
};

// Where fold k's files go in DIR: DIR/k/train.jsonl and DIR/k/val.jsonl.
std::vector<FoldFiles> fold_files(const std::string& dir, int folds);

// The records of `train_paths`, each in its fold.
struct FoldSplit {
  std::vector<std::vector<std::string>> folds;
};

// Reads the records and deals them. Refused, naming --folds: fewer than 2
// folds, more folds than records. A file that cannot be read, or a line over
// the reader's limit, is an error naming it.
FoldSplit split_into_folds(const std::vector<std::string>& train_paths, int folds, uint64_t seed);

// Writes each fold's files (fold_files(dir, ...)), each atomically.
std::vector<FoldFiles> write_fold_files(const FoldSplit& split, const std::string& dir);

}  // namespace whet::tune
