#pragma once
// The data that starts a cycle: files in the incoming folder the loop has not
// consumed, and feedback records beyond those it has. A file is known by its
// name and contents, so a file rewritten under the same name is new data again.
// Writers should write elsewhere and rename into the folder (or write NAME.tmp
// or .NAME and rename): names ending in .tmp or .part and hidden files are not
// read, so a file half-written is never taken.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "loop/loop_state.h"

namespace whet::loop {

struct NewFile {
  std::string name;  // in the incoming folder
  std::string path;
  int64_t records = 0;
  std::string hash;
};

// The *.jsonl files of `folder` not among `state.inputs`, in name order; none
// when the folder is "" or does not exist yet.
std::vector<NewFile> new_files(const std::string& folder, const WatchState& state);

// The feedback a server collected, as training records (JSON lines), oldest
// first; records are only ever appended. cli/cmd_watch binds it to the
// server's store, which lives in a layer above this one.
using FeedbackRecords = std::function<std::vector<std::string>()>;

}  // namespace whet::loop
