// The one list of stages (prepare/stages.h) against what depends on it: the
// order a run reports, and the stage table of docs/data.md.
#include <gtest/gtest.h>

#include <sstream>

#include "pipeline_test_support.h"
#include "prepare/pipeline.h"
#include "prepare/stages.h"

namespace whet {
namespace {

std::vector<std::string> names_of(std::initializer_list<Stage> skipped = {}) {
  std::vector<std::string> names;
  for (const StageInfo& s : kStages)
    if (std::find(skipped.begin(), skipped.end(), s.stage) == skipped.end()) names.emplace_back(s.name);
  return names;
}

TEST(DataPipelineStages, DocsTableNamesEveryStageInOrder) {
  std::istringstream doc(test::read_all(test::source_path("docs/data.md")));
  std::string line;
  while (std::getline(doc, line) && line != "| stage | what it does |") {
  }
  ASSERT_TRUE(doc) << "docs/data.md has no stage table";
  std::getline(doc, line);  // |---|---|
  std::vector<std::string> documented;
  while (std::getline(doc, line) && line.starts_with("| "))
    documented.push_back(line.substr(2, line.find(" |", 2) - 2));
  EXPECT_EQ(documented, names_of());
}

TEST(DataPipelineStages, ARunReportsTheStagesItRunsInListOrder) {
  const std::string dir = test::data_scratch();
  test::write_file(dir, "train.jsonl",
                   "{\"prompt\": \"Review: lovely. Sentiment:\", \"completion\": \"positive\"}\n"
                   "{\"prompt\": \"Review: dreadful. Sentiment:\", \"completion\": \"negative\"}\n");
  // Without model-based stages asked for, they neither run nor appear.
  const PipelineResult r = run_pipeline(test::config_in(dir, "output_dir: out\nsources:\n  - path: train.jsonl\n"), {});
  std::vector<std::string> reported;
  for (const StageReport& s : r.ledger.stages()) reported.push_back(s.stage);
  EXPECT_EQ(reported, names_of({Stage::Synthesize, Stage::PseudoLabel, Stage::ModelAugment}));
  EXPECT_EQ(r.ledger.stages().front().in, 2u);
}

}  // namespace
}  // namespace whet
