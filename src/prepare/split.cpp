#include "prepare/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "data/shuffle.h"
#include "prepare/stages.h"

namespace whet {

size_t split_target(double share, size_t n) {
  const double wanted = share < 1 ? std::round(share * double(n)) : share;
  return std::min(n, size_t(wanted));
}

std::vector<size_t> apportion(size_t total, const std::vector<size_t>& sizes) {
  size_t n = 0;
  for (size_t s : sizes) n += s;
  std::vector<size_t> out(sizes.size());
  if (n == 0) return out;
  std::vector<std::pair<size_t, size_t>> remainders;  // (remainder * n, -index) to sort largest first
  size_t given = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    out[i] = total * sizes[i] / n;
    given += out[i];
    remainders.emplace_back(total * sizes[i] % n, i);
  }
  std::stable_sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < total; ++k, ++given) ++out[remainders[k].second];
  return out;
}

std::vector<Split> assign_splits(const std::vector<std::string>& strata, const std::vector<size_t>& groups,
                                 const SplitConfig& config, uint64_t seed) {
  const size_t n = strata.size();
  const size_t test_total = split_target(config.test, n);
  const size_t validation_total = std::min(split_target(config.validation, n), n - test_total);

  // Groups in order of first appearance, with their stratum and members.
  std::map<std::string, size_t> stratum_index;
  for (const std::string& s : strata) stratum_index.emplace(s, 0);
  size_t next = 0;
  for (auto& [name, index] : stratum_index) index = next++;
  std::vector<size_t> stratum_sizes(stratum_index.size());
  std::unordered_map<size_t, size_t> group_index;
  std::vector<std::vector<size_t>> members;
  std::vector<size_t> group_stratum;
  for (size_t i = 0; i < n; ++i) {
    const auto [it, inserted] = group_index.emplace(groups[i], members.size());
    if (inserted) {
      members.emplace_back();
      group_stratum.push_back(stratum_index[strata[i]]);
    }
    members[it->second].push_back(i);
    ++stratum_sizes[group_stratum[it->second]];
  }
  const std::vector<size_t> test_quota = apportion(test_total, stratum_sizes);
  const std::vector<size_t> validation_quota = apportion(validation_total, stratum_sizes);

  std::vector<Split> out(n, Split::Train);
  std::vector<size_t> test_taken(stratum_sizes.size()), validation_taken(stratum_sizes.size());
  for (size_t g : shuffled_order(members.size(), seed)) {
    const size_t s = group_stratum[g], size = members[g].size();
    Split where = Split::Train;
    if (test_taken[s] + size <= test_quota[s]) {
      where = Split::Test;
      test_taken[s] += size;
    } else if (validation_taken[s] + size <= validation_quota[s]) {
      where = Split::Validation;
      validation_taken[s] += size;
    }
    for (size_t i : members[g]) out[i] = where;
  }
  return out;
}

SplitKeys split_stage(std::vector<RecordKey> keys, const Spool& spool, const SplitConfig& config,
                      const std::string& label_field, uint64_t seed, Ledger& ledger) {
  ledger.begin(stage_name(Stage::Split), keys.size());
  // Records a model made or labelled train only; the rest are split.
  const auto first_model_made =
      std::stable_partition(keys.begin(), keys.end(), [](const RecordKey& k) { return !k.train_only; });
  std::vector<RecordKey> model_made(std::make_move_iterator(first_model_made), std::make_move_iterator(keys.end()));
  keys.erase(first_model_made, keys.end());
  const bool stratify = config.stratify && !label_field.empty();
  std::vector<std::string> strata(keys.size());
  std::vector<size_t> groups(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (stratify) strata[i] = keys[i].label;
    groups[i] = keys[i].group;
  }
  const std::vector<Split> assigned = assign_splits(strata, groups, config, seed);
  SplitKeys out;
  std::set<size_t> held_out_groups;
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto part = size_t(assigned[i]);
    ++ledger.current().counts[std::string(kSplitNames[part])];
    if (stratify) ++ledger.current().counts[std::string(kSplitNames[part]) + " label " + strata[i]];
    if (assigned[i] != Split::Train) held_out_groups.insert(keys[i].group);
    out[part].push_back(std::move(keys[i]));
  }
  // A model-made near duplicate of a held-out record would leak it into training.
  std::vector<Reason> reasons(model_made.size());
  for (size_t i = 0; i < model_made.size(); ++i)
    if (held_out_groups.count(model_made[i].group)) reasons[i] = {"model-made near duplicate of a held-out record", ""};
  drop_marked(model_made, spool, ledger, reasons);
  if (!model_made.empty()) ledger.current().counts["train (model-made)"] = model_made.size();
  std::vector<RecordKey>& train = out[size_t(Split::Train)];
  for (RecordKey& k : model_made) train.push_back(std::move(k));
  // Back in reading order, which the outputs keep.
  std::stable_sort(train.begin(), train.end(), [](const RecordKey& a, const RecordKey& b) { return a.id < b.id; });
  ledger.end(out[0].size() + out[1].size() + out[2].size());
  return out;
}

}  // namespace whet
