// Which folder under RUN/checkpoints a resume starts from: the highest step-N,
// never the step-N.tmp.PID a process killed while writing a checkpoint leaves
// (whet watch's kill test found a resume reading one).
#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.h"
#include "train/checkpoint.h"

namespace whet {
namespace {

TEST(CheckpointFolders, TheNewestCompleteCheckpointIsFoundAndHalfWrittenOnesAreNot) {
  const std::string run = test::scratch_dir("checkpoint_folders");
  EXPECT_EQ(latest_checkpoint(run), "");
  for (const char* name : {"step-8", "step-16", "step-32.tmp.4242", "step-x", "best"})
    std::filesystem::create_directories(run + "/checkpoints/" + name);
  EXPECT_EQ(latest_checkpoint(run), run + "/checkpoints/step-16");
  prune_checkpoints(run, 1);
  EXPECT_FALSE(std::filesystem::exists(run + "/checkpoints/step-8"));
  EXPECT_EQ(latest_checkpoint(run), run + "/checkpoints/step-16");
}

}  // namespace
}  // namespace whet
