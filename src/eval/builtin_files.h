#pragma once
// Task files that ship inside the binary (tasks/ in the source tree): the
// general-ability set of the forgetting check and the bias audit's
// counterfactual pairs, so `whet eval --forgetting --bias` works from the
// binary alone; and the general corpus that training replays against
// forgetting (replay_data: general), kept apart from the check's held-out sets.
#include <string_view>

namespace whet {

inline constexpr std::string_view kGeneralText = "tasks/general/text.jsonl";
inline constexpr std::string_view kGeneralQuestions = "tasks/general/questions.jsonl";
inline constexpr std::string_view kGeneralReplay = "tasks/general/replay.jsonl";
inline constexpr std::string_view kBiasPairs = "tasks/bias/counterfactual.jsonl";

// The file's contents; empty for a name that is not built in.
std::string_view builtin_file(std::string_view name);

}  // namespace whet
