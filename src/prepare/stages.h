#pragma once
// The stages of `whet data prepare`, in the order they run and are reported:
// the one list of their names and order. The ledger (and so the report, the
// trace and the manifest), the messages and the progress bars take a stage's
// name from here, and run_pipeline runs the stages in this order, each in its
// pass.
#include <cstddef>
#include <cstdint>
#include <iterator>

namespace whet {

enum class Stage : uint8_t {
  Read, Normalize, Synthesize, PseudoLabel, Filter, Pii, Dedup, Split, Leakage, Mix, Augment, ModelAugment
};

// How a stage meets the records (memory holds a batch at a time: see pipeline.h).
enum class Pass : uint8_t {
  Read,         // the sources, line by line
  Records,      // each batch of training sources' records as it is read, then the held records
  HeldRecords,  // only the held records (documents, the unlabelled pool), in their place among Records
  Keys,         // all records at once, by their keys in reading order
  Training,     // the training split, a batch at a time as it is read back into train.jsonl
};

struct StageInfo {
  Stage stage;
  const char* name;
  Pass pass;
};

inline constexpr StageInfo kStages[] = {
    {Stage::Read, "read", Pass::Read},
    {Stage::Normalize, "normalize", Pass::Records},
    {Stage::Synthesize, "synthesize", Pass::HeldRecords},
    {Stage::PseudoLabel, "pseudo_label", Pass::HeldRecords},
    {Stage::Filter, "filter", Pass::Records},
    {Stage::Pii, "pii", Pass::Records},
    // Its keys and hashes are made as the records pass into the spool after pii.
    {Stage::Dedup, "dedup", Pass::Keys},
    {Stage::Split, "split", Pass::Keys},
    {Stage::Leakage, "leakage", Pass::Keys},
    {Stage::Mix, "mix", Pass::Training},
    {Stage::Augment, "augment", Pass::Training},
    {Stage::ModelAugment, "model_augment", Pass::Training},
};

// The list holds every Stage once, in the enum's order, so a Stage indexes it.
static_assert(std::size(kStages) == size_t(Stage::ModelAugment) + 1);
static_assert([] {
  for (size_t i = 0; i < std::size(kStages); ++i)
    if (kStages[i].stage != Stage(i)) return false;
  return true;
}());

constexpr const char* stage_name(Stage stage) { return kStages[size_t(stage)].name; }

}  // namespace whet
