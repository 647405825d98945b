// whet watch end to end on a tiny model: new data → a challenger trained →
// scored against the champion → promoted or rejected with the reason; every
// decision recorded; a loop stopped mid-training or killed between phases
// continues without training or registering twice.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "loop/loop_records.h"
#include "loop/loop_state.h"
#include "io/json_fields.h"
#include "test_support.h"
#include "tiny_loop.h"
#include "track/model_uri.h"
#include "track/registry_store.h"

namespace whet::loop {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::TinyLoop;
using test::write_labelled;

TEST(WatchLoop, AWinnerIsPromotedAndANoBetterChallengerIsRejectedWithTheEvidence) {
  TinyLoop loop("watch_loop_promote");
  EXPECT_EQ(loop.run().cycles_decided, 0);  // nothing in the folder yet
  EXPECT_TRUE(loop.said_something_with("nothing due")) << loop.transcript();

  write_labelled(loop.dir + "/incoming/batch1.jsonl", 0, 16);
  ASSERT_EQ(loop.run().cycles_decided, 1) << loop.transcript();
  const json first = loop.decision(1);
  EXPECT_EQ(first["decision"], "promoted") << first.dump(2);
  EXPECT_EQ(first["champion_before"], nullptr);  // the base model was the champion
  EXPECT_EQ(first["version"], 1);
  const json& comparison = first["evaluation"]["comparison"];
  EXPECT_EQ(comparison["metric"], "accuracy");
  EXPECT_EQ(comparison["items"], 30);
  EXPECT_GT(comparison["improvement"].get<double>(), 0.2) << comparison.dump();
  EXPECT_LT(comparison["p_value"].get<double>(), 0.05);
  EXPECT_TRUE(first["evaluation"]["forgetting"]["judged"].get<bool>());
  EXPECT_FALSE(first["evaluation"]["bias"].is_null());
  EXPECT_EQ(first["inputs"][0]["source"], "batch1.jsonl");
  EXPECT_EQ(first["inputs"][0]["records"], 32);

  // What models:/oceans@champion serves now is the challenger's adapter, and the promotion is in the log.
  track::RegistryStore registry(loop.data_dir);
  const track::ResolvedModel champion = track::resolve_model_uri(registry, "models:/oceans@champion");
  EXPECT_EQ(champion.version.version, 1);
  EXPECT_FALSE(champion.adapter.empty());
  EXPECT_NE(registry.events("oceans").back().reason.find("whet watch cycle 1: better than the base model"),
            std::string::npos)
      << registry.events("oceans").back().reason;

  // The same rule again, training on from the champion (base_model names it):
  // the champion already gets every item right, so the challenger cannot be better.
  EXPECT_EQ(loop.run().cycles_decided, 0);  // nothing new yet
  loop.write_train_yaml("models:/oceans@champion");
  write_labelled(loop.dir + "/incoming/batch2.jsonl", 16, 24);
  ASSERT_EQ(loop.run().cycles_decided, 1) << loop.transcript();
  const json second = loop.decision(2);
  EXPECT_EQ(second["decision"], "rejected") << second.dump(2);
  EXPECT_NE(second["reason"].get<std::string>().find("not better than the champion"), std::string::npos)
      << second["reason"];
  EXPECT_EQ(second["champion_before"], 1);
  EXPECT_EQ(second["champion_after"], 1);
  EXPECT_EQ(second["version"], 2);  // registered all the same, as a record
  EXPECT_EQ(track::resolve_model_uri(registry, "models:/oceans@champion").version.version, 1);
  // It continued the champion's adapter on the champion's base.
  std::ifstream config_file(LoopFolder(loop.data_dir, "oceans").run_dir(2) + "/config.yaml");
  const std::string resolved{std::istreambuf_iterator<char>(config_file), {}};
  EXPECT_NE(resolved.find("lora_model_dir: \"" + champion.adapter + "\""), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("base_model: \"" + champion.model + "\""), std::string::npos) << resolved;
  // The second cycle trained on everything so far: both batches.
  const WatchState state = read_watch_state(LoopFolder(loop.data_dir, "oceans"));
  EXPECT_EQ(state.train_files.size(), 2u);

  // What the dashboard reads: both cycles, newest first, with their decisions.
  const json listed = loops_json(loop.data_dir);
  ASSERT_EQ(listed["data"].size(), 1u);
  EXPECT_EQ(listed["data"][0]["last_decision"]["cycle"], 2);
  const json one = loop_json(loop.data_dir, "oceans");
  ASSERT_EQ(one["cycles"].size(), 2u);
  EXPECT_EQ(one["cycles"][1]["decision"]["decision"], "promoted");
  test::expect_error([&] { loop_json(loop.data_dir, "../oceans"); }, {"no loop named '../oceans'", "oceans"});
}

// With prepare:, the collected files are the pipeline's sources: duplicates go,
// a validation split is made, and the challenger trains on what it wrote.
TEST(WatchLoop, APrepareConfigCleansAndSplitsWhatTheChallengerTrainsOn) {
  TinyLoop loop("watch_loop_prepare", {}, "prepare: prepare.yaml\n");
  std::ofstream(loop.dir + "/prepare.yaml") << "label_field: label\nsplit: {validation: 4}\n";
  write_labelled(loop.dir + "/incoming/batch1.jsonl", 0, 16);
  write_labelled(loop.dir + "/incoming/batch2.jsonl", 8, 16);  // 16 records already in batch1
  ASSERT_EQ(loop.run().cycles_decided, 1) << loop.transcript();
  const LoopFolder folder(loop.data_dir, "oceans");
  const WatchState state = read_watch_state(folder);
  EXPECT_EQ(state.train_files, std::vector<std::string>{folder.data_dir(1) + "/train.jsonl"});
  EXPECT_EQ(state.validation_files, std::vector<std::string>{folder.data_dir(1) + "/validation.jsonl"});
  const json manifest = read_json_object(folder.data_dir(1) + "/manifest.json");
  EXPECT_NE(manifest.dump().find("0001-batch2.jsonl"), std::string::npos);  // the kept copy was the source
  const json resolved = read_json_object(folder.run_dir(1) + "/run.json");
  EXPECT_EQ(resolved["source"], "watch");
  std::ifstream train(folder.data_dir(1) + "/train.jsonl");
  int lines = 0;
  for (std::string line; std::getline(train, line);) ++lines;
  EXPECT_EQ(lines, 32 - 4);  // 48 in, 16 duplicates dropped, 4 held out
  EXPECT_EQ(loop.decision(1)["decision"], "promoted") << loop.decision(1).dump(2);
}

TEST(WatchLoop, AChallengerThatForgetsIsRejectedByTheGate) {
  TinyLoop loop("watch_loop_forgets", {"max_perplexity_rise=0", "method=full", "learning_rate=0.03"});
  write_labelled(loop.dir + "/incoming/batch1.jsonl", 0, 16);
  ASSERT_EQ(loop.run().cycles_decided, 1) << loop.transcript();
  const json d = loop.decision(1);
  EXPECT_EQ(d["decision"], "rejected");
  EXPECT_NE(d["reason"].get<std::string>().find("forgetting gate failed: tasks/general/text.jsonl perplexity"),
            std::string::npos)
      << d["reason"];
  track::RegistryStore registry(loop.data_dir);
  EXPECT_TRUE(registry.get_model("oceans").aliases.empty());  // nothing promoted
}

TEST(WatchLoop, AStoppedOrKilledCycleContinuesWithoutDoingAnythingTwice) {
  TinyLoop loop("watch_loop_resume");
  write_labelled(loop.dir + "/incoming/batch1.jsonl", 0, 16);
  // Ctrl-C during training: the run checkpoints, the cycle stays open at "prepared".
  std::atomic<bool> stop{false};
  const WatchResult stopped = loop.run(&stop, [&](const StepReport& r) {
    if (!r.is_eval && r.step >= 10) stop = true;
  });
  EXPECT_TRUE(stopped.stopped);
  const LoopFolder folder(loop.data_dir, "oceans");
  EXPECT_EQ(read_watch_state(folder).phase, Phase::Prepared);
  ASSERT_TRUE(fs::exists(folder.run_dir(1) + "/checkpoints"));

  // The next start resumes training from its checkpoint and finishes the cycle.
  int64_t first_step = 0;
  ASSERT_EQ(loop.run(nullptr, [&](const StepReport& r) {
              if (!r.is_eval && first_step == 0) first_step = r.step;
            }).cycles_decided,
            1)
      << loop.transcript();
  EXPECT_GT(first_step, 1) << "training started over instead of resuming";
  EXPECT_TRUE(loop.said_something_with("(resuming)")) << loop.transcript();
  EXPECT_EQ(loop.decision(1)["decision"], "promoted");

  // A kill after the registration, before the state said so: the state is taken
  // back to "evaluated"; the next start finds the version by its run id instead of
  // registering another, and the alias is not moved a second time.
  WatchState state = read_watch_state(folder);
  state.phase = Phase::Evaluated;
  state.version.reset();
  write_watch_state(folder, state);
  track::RegistryStore registry(loop.data_dir);
  const size_t events = registry.events("oceans").size();
  ASSERT_EQ(loop.run().cycles_decided, 1);
  EXPECT_EQ(registry.get_model("oceans").versions.size(), 1u);
  EXPECT_EQ(registry.events("oceans").size(), events);
  EXPECT_EQ(read_watch_state(folder).phase, Phase::Decided);
}

TEST(WatchLoop, FeedbackPastTheThresholdStartsACycleAndIsConsumedOnce) {
  TinyLoop loop("watch_loop_feedback");
  loop.config.incoming.clear();
  loop.config.feedback_threshold = 20;
  std::vector<std::string> feedback;
  for (int i = 0; i < 12; ++i) {
    feedback.push_back(json{{"prompt", "the ocean " + std::to_string(i) + " is"}, {"label", "tin"}}.dump());
    feedback.push_back(json{{"prompt", "the desert " + std::to_string(i) + " is"}, {"label", "cup"}}.dump());
  }
  std::vector<std::string> given(feedback.begin(), feedback.begin() + 10);
  auto records = [&] { return given; };
  EXPECT_EQ(loop.run(nullptr, {}, records).cycles_decided, 0);  // 10 < 20
  given = feedback;
  ASSERT_EQ(loop.run(nullptr, {}, records).cycles_decided, 1) << loop.transcript();
  const json d = loop.decision(1);
  EXPECT_EQ(d["inputs"][0]["source"], "feedback");
  EXPECT_EQ(d["inputs"][0]["records"], 24);
  EXPECT_EQ(read_watch_state(LoopFolder(loop.data_dir, "oceans")).feedback_used, 24);
  EXPECT_EQ(loop.run(nullptr, {}, records).cycles_decided, 0);  // the same records are not new
}

}  // namespace
}  // namespace whet::loop
