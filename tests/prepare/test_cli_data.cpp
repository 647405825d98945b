// `whet data` as a user runs it, and the prepared fixture trained on by
// `whet train` for two steps on the tiny test model. Runs the built binary, so
// not in the AddressSanitizer build (which has no whet of its own).
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/run_whet.h"
#include "pipeline_test_support.h"

namespace whet {
namespace {

using test::run_whet;

#ifndef WHET_ASAN

TEST(DataPipelineCli, HelpForEveryCommand) {
  for (const char* command : {"data --help", "data prepare --help", "data stats --help", "data validate --help"}) {
    const test::RunResult r = run_whet(command);
    EXPECT_EQ(r.exit_code, 0) << command << r.err;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << command;
  }
}

TEST(DataPipelineCli, PrepareValidateStatsThenTrain) {
  const std::string dir = test::data_scratch();
  const std::string fixture = test::source_path("tests/fixtures/data_pipeline/pipeline.yaml");
  const test::RunResult prepared = run_whet("data prepare " + fixture + " --output " + dir + "/data");
  ASSERT_EQ(prepared.exit_code, 0) << prepared.err;
  EXPECT_NE(prepared.out.find(dir + "/data/train.jsonl\t14 records"), std::string::npos) << prepared.out;
  EXPECT_NE(prepared.err.find("1 leak(s)"), std::string::npos) << prepared.err;

  const test::RunResult strict = run_whet("data prepare " + fixture + " --strict --output " + dir + "/strict");
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_NE(strict.err.find("reviews.jsonl:22"), std::string::npos) << strict.err;

  const test::RunResult valid = run_whet("data validate " + dir + "/data/train.jsonl");
  EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
  const test::RunResult invalid =
      run_whet("data validate " + test::source_path("tests/fixtures/data_pipeline/reviews.jsonl"));
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_NE(invalid.out.find("reviews.jsonl:22] invalid JSON"), std::string::npos) << invalid.out;

  const test::RunResult stats = run_whet("data stats " + dir + "/data/train.jsonl --label-field completion --json");
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const auto profile = nlohmann::json::parse(stats.out);
  EXPECT_EQ(profile["records"], 14);
  EXPECT_EQ(profile["records_with_pii"], 0);
  EXPECT_EQ(profile["labels"]["negative"], 4);
  EXPECT_EQ(profile["length_unit"], "characters");
  const test::RunResult tokens =
      run_whet("data stats " + dir + "/data/train.jsonl --json --model " + test::testdata_path("tiny/gqa_tied/hf"));
  ASSERT_EQ(tokens.exit_code, 0) << tokens.err;
  EXPECT_EQ(nlohmann::json::parse(tokens.out)["length_unit"], "tokens");
  EXPECT_EQ(run_whet("data stats " + dir + "/data/train.jsonl --model /nonexistent").exit_code, 1);

  const test::RunResult trained =
      run_whet("train --model " + test::testdata_path("tiny/gqa_tied/hf") + " --data " + dir + "/data/train.jsonl --val " +
               dir + "/data/validation.jsonl --method lora --output " + dir + "/run --strict --set max_steps=2");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.err.find("step 2/2"), std::string::npos) << trained.err;
}

TEST(DataPipelineCli, StatsAndValidateOtherFormats) {
  const std::string dir = test::data_scratch();
  const std::string csv =
      test::write_file(dir, "x.csv", "q,a,topic\n\"Hi, there\",hello,greeting\none,two\nbye,ciao,farewell\n");
  const test::RunResult bad = run_whet("data validate " + csv + " --columns prompt=q,completion=a");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.out, "[" + csv + ":3] the row has 2 fields, the header has 3\n");
  EXPECT_NE(bad.err.find("x.csv (csv): 2 records (2 completion), 1 with errors"), std::string::npos) << bad.err;

  const std::string tsv = test::write_file(dir, "x.tsv", "q\ta\tmood\nhow?\twell\tok\nwhy?\tno\tbad\n");
  EXPECT_EQ(run_whet("data validate --columns prompt=q --columns completion=a " + tsv).exit_code, 0);
  const test::RunResult stats =
      run_whet("data stats " + tsv + " --columns prompt=q,completion=a,mood=mood --label-field mood --json");
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const auto profile = nlohmann::json::parse(stats.out);
  EXPECT_EQ(profile["type"], "tsv");
  EXPECT_EQ(profile["records"], 2);
  EXPECT_EQ(profile["labels"]["bad"], 1);

  std::filesystem::create_directories(dir + "/notes");
  test::write_file(dir, "notes/a.md", "---\ntitle: x\n---\nOne.\n\nTwo.\n");
  const test::RunResult paragraphs = run_whet("data stats " + dir + "/notes --type markdown --paragraphs --json");
  ASSERT_EQ(paragraphs.exit_code, 0) << paragraphs.err;
  EXPECT_EQ(nlohmann::json::parse(paragraphs.out)["records"], 2);

  struct Failure {
    std::string args, message;
  };
  for (const Failure& f : std::vector<Failure>{
           {"data validate " + csv + " --columns prompt=q,answer=a", "[--columns] unknown field 'answer'"},
           {"data validate " + csv + " --columns prompt=question", "x.csv:1] columns.prompt: no column 'question'"},
           {"data validate " + csv, "--columns: a csv file needs"},
           {"data stats " + dir + "/nothing.csv --columns text=q", "nothing.csv] no such file"},
           {"data validate " + test::write_file(dir, "x.jsonl", "{}\n") + " --columns text=q",
            "x.jsonl] --columns"}}) {
    const test::RunResult r = run_whet(f.args);
    EXPECT_EQ(r.exit_code, 1) << f.args;
    EXPECT_NE(r.err.find(f.message), std::string::npos) << f.args << "\n" << r.err;
  }
}

// Pseudo-labelling from the command line, on the tiny model held as f32: the
// model is loaded once the data is read, and a missing one is named.
TEST(DataPipelineCli, PrepareWithAModelStage) {
  const std::string dir = test::data_scratch();
  test::write_file(dir, "train.jsonl", "{\"prompt\": \"the sea\", \"completion\": \"stone\"}\n"
                                       "{\"prompt\": \"the stone\", \"completion\": \"sea\"}\n");
  test::write_file(dir, "pool.jsonl", "{\"prompt\": \"by the\"}\n{\"prompt\": \"the sea and\"}\n");
  const std::string yaml = "output_dir: out\nlabel_field: completion\nsources:\n  - path: train.jsonl\n"
                           "  - path: pool.jsonl\n    role: unlabelled\npseudo_label: {threshold: 0, model: ";
  test::write_file(dir, "p.yaml", yaml + test::testdata_path("tiny/gqa_tied/hf") + "}\n");
  const test::RunResult r = run_whet("data prepare " + dir + "/p.yaml --weights f32");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("pseudo_label: 4 -> 4 records"), std::string::npos) << r.err;
  size_t pseudo = 0;
  for (const std::string& line : test::read_lines(dir + "/out/train.jsonl"))
    pseudo += nlohmann::json::parse(line).contains("pseudo_label_confidence");
  EXPECT_EQ(pseudo, 2u);

  test::write_file(dir, "missing.yaml", yaml + dir + "/no-model}\n");
  const test::RunResult missing = run_whet("data prepare " + dir + "/missing.yaml");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find(dir + "/no-model"), std::string::npos) << missing.err;
}

#endif

}  // namespace
}  // namespace whet
