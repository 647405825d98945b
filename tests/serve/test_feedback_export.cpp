// `whet feedback export`: the exact JSONL lines of each format from each kind of
// feedback, every row not used counted under its reason, and the command line
// over a data folder's database.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "cli/run_whet.h"
#include "serve/feedback_export.h"

namespace whet::serve {
namespace {

using nlohmann::json;

const json kChat = json::parse(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}])");

StoredCompletion completion(const std::string& id, const std::string& answer, json prompt = kChat) {
  return StoredCompletion{id, 0, "tiny", std::move(prompt), answer, 100};
}

Feedback rating(const std::string& answer, const std::string& up_or_down, std::optional<std::string> preferred = {},
                json prompt = kChat) {
  Feedback f;
  f.kind = "rating";
  f.completions = {completion("chatcmpl-r", answer, std::move(prompt))};
  f.rating = up_or_down;
  f.preferred_output = std::move(preferred);
  return f;
}

Feedback comparison(const std::string& a, const std::string& b, int64_t preferred) {
  Feedback f;
  f.kind = "comparison";
  f.completions = {completion("chatcmpl-a", a), completion("chatcmpl-b", b)};
  f.preferred = preferred;
  return f;
}

std::vector<Feedback> every_kind() {
  return {comparison("Paris.", "It is Lyon.", 0),
          rating("Paris.", "up"),
          rating("Lyon.", "down", "Paris."),
          rating("Marseille.", "down"),
          comparison("Paris.", "Paris.", 1),
          rating("the sea", "up", {}, "Capital of France?")};
}

const std::string kPrompt =
    R"("messages":[{"content":"Be brief.","role":"system"},{"content":"Capital of France?","role":"user"}])";

TEST(FeedbackExport, PreferencePairsFromChoicesAndPreferredOutputs) {
  const FeedbackDataset d = feedback_dataset(every_kind(), FeedbackFormat::Preference);
  EXPECT_EQ(d.lines, (std::vector<std::string>{
                         R"({"input":{)" + kPrompt +
                             R"(},"non_preferred_output":[{"content":"It is Lyon.","role":"assistant"}],)"
                             R"("preferred_output":[{"content":"Paris.","role":"assistant"}]})",
                         R"({"input":{)" + kPrompt +
                             R"(},"non_preferred_output":[{"content":"Lyon.","role":"assistant"}],)"
                             R"("preferred_output":[{"content":"Paris.","role":"assistant"}]})"}));
  EXPECT_EQ(d.written, (Tally{{"A/B choices", 1}, {"thumbs down with a preferred_output", 1}}));
  EXPECT_EQ(d.skipped,
            (Tally{{"thumbs up (no rejected answer to pair it with; use --format kto)", 1},
                   {"thumbs down without a preferred_output (no preferred answer; use --format kto)", 1},
                   {"preferred and rejected answers are the same text", 1},
                   {"feedback on a text completion (/v1/completions has no messages to train a chat on)", 1}}));
}

TEST(FeedbackExport, KtoExamplesFromRatings) {
  const FeedbackDataset d = feedback_dataset(every_kind(), FeedbackFormat::Kto);
  auto line = [](const std::string& answer, bool label) {
    return R"({"completion":[{"content":")" + answer + R"(","role":"assistant"}],"label":)" + (label ? "true" : "false") +
           R"(,"prompt":[{"content":"Be brief.","role":"system"},{"content":"Capital of France?","role":"user"}]})";
  };
  EXPECT_EQ(d.lines, (std::vector<std::string>{line("Paris.", true), line("Lyon.", false), line("Paris.", true),
                                               line("Marseille.", false)}));
  EXPECT_EQ(d.written, (Tally{{"thumbs up (label true)", 1},
                              {"thumbs down (label false)", 2},
                              {"preferred_output of a thumbs down (label true)", 1}}));
  EXPECT_EQ(d.skipped,
            (Tally{{"A/B choices (a pair; use --format preference)", 2},
                   {"feedback on a text completion (/v1/completions has no messages to train a chat on)", 1}}));
}

TEST(FeedbackExport, TheCommandReadsADataFolder) {
  const std::string dir = test::this_test_scratch("feedback_export_");
  {
    JobStore store(dir + "/whet.sqlite");
    for (Feedback f : every_kind()) store.add_feedback(f);
  }
  const test::RunResult r =
      test::run_whet("feedback export --data-dir " + dir + " --format preference --output " + dir + "/pairs.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream file(dir + "/pairs.jsonl");
  const std::string written((std::istreambuf_iterator<char>(file)), {});
  const FeedbackDataset expected = feedback_dataset(every_kind(), FeedbackFormat::Preference);
  EXPECT_EQ(written, expected.lines[0] + "\n" + expected.lines[1] + "\n");
  for (const std::string part : {"lines written: 2", "  1 A/B choices", "feedback skipped: 4",
                                 "  1 preferred and rejected answers are the same text"})
    EXPECT_NE(r.err.find(part), std::string::npos) << part << "\n" << r.err;

  const test::RunResult help = test::run_whet("feedback export --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--format"), std::string::npos) << help.out;

  const test::RunResult missing =
      test::run_whet("feedback export --data-dir " + dir + "/nowhere --format kto --output " + dir + "/k.jsonl");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no whet.sqlite"), std::string::npos) << missing.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/k.jsonl"));
  EXPECT_NE(test::run_whet("feedback export --data-dir " + dir + " --format dpo --output x").exit_code, 0);
}

}  // namespace
}  // namespace whet::serve
