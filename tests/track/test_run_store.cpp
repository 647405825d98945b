// The run tracker's index: a tiny training run indexed with its params,
// metrics and lineage; metrics.jsonl followed incrementally (new lines only, a
// partial last line waiting, a corrupt line counted and named, a rewritten
// file read again); a vanished folder marked missing; a sync killed midway
// leaving the previous state; ids that survive resume and moves.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "cli/run_whet.h"
#include "run_folders.h"
#include "track/run_compare.h"
#include "track/run_folder.h"
#include "track/run_store.h"
#include "train/run_record.h"

namespace whet {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<track::StoredMetric> all_metrics(track::RunStore& store, const std::string& id) {
  return store.metrics(id, 0, 1000000);
}

json only_run(track::RunStore& store) {
  const std::vector<json> runs = store.runs();
  EXPECT_EQ(runs.size(), 1u);
  return runs.empty() ? json() : runs[0];
}

// How many values the first `lines` lines of a metrics file hold, as the store counts them.
int64_t values_in_lines(const std::string& path, int64_t lines) {
  std::ifstream in(path);
  int64_t values = 0;
  std::string line;
  for (int64_t n = 0; n < lines && std::getline(in, line); ++n) {
    const json parsed = json::parse(line);
    for (const auto& [name, value] : parsed.items())
      if (name != "step" && value.is_number()) ++values;
  }
  return values;
}

TEST(RunStore, IndexesATinyTrainingRunWithParamsMetricsAndLineage) {
  const std::string data = test::this_test_scratch("runs_");
  TrainConfig config = test::tiny_run_config(data, data + "/runs/tiny");
  std::ofstream(data + "/manifest.json") << "{\"stages\": []}\n";  // as `whet data prepare` leaves beside its output
  const TrainRunResult result = run_training(config, {});
  ASSERT_FALSE(result.interrupted);

  track::RunStore store(data);
  const track::SyncReport report = store.sync();
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  const json run = only_run(store);
  const json record = json::parse(std::ifstream(data + "/runs/tiny/run.json"));
  EXPECT_EQ(run["id"], record["id"]);
  EXPECT_TRUE(run["id"].get<std::string>().starts_with("run-")) << run["id"];
  EXPECT_EQ(run["id"].get<std::string>().size(), 16u);
  EXPECT_EQ(run["name"], "tiny");
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(run["source"], "cli");
  EXPECT_EQ(run["method"], "lora");
  EXPECT_EQ(run["params"]["lora_r"], 4);
  EXPECT_EQ(run["params"]["max_steps"], 8);
  EXPECT_EQ(run["steps"], 8);
  EXPECT_EQ(run["last"]["step"], 8);
  EXPECT_TRUE(run["best"].contains("val_loss"));
  EXPECT_EQ(run["lineage"]["model_hash"], record["model"]["hash"]);
  EXPECT_EQ(run["lineage"]["model_hash"], content_hash(config.base_model));
  EXPECT_EQ(run["lineage"]["config_hash"], record["config_hash"]);
  EXPECT_EQ(run["lineage"]["data_hash"], content_hash(data + "/manifest.json"));
  EXPECT_EQ(run["lineage"]["data_files"][0]["hash"], content_hash(config.train_data[0]));
  EXPECT_EQ(run["data"].size(), 2u);
  EXPECT_EQ(run["bad_lines"], 0);
  bool has_adapter = false;
  for (const json& a : run["artefacts"]) has_adapter |= a["kind"] == "adapter" && a["bytes"].get<int64_t>() > 0;
  EXPECT_TRUE(has_adapter) << run["artefacts"].dump();

  // Every value of every line, in order, and nothing else.
  const std::vector<track::StoredMetric> rows = all_metrics(store, run["id"]);
  EXPECT_EQ(int64_t(rows.size()), values_in_lines(data + "/runs/tiny/metrics.jsonl", 1000));
  int losses = 0;
  for (const auto& m : rows) losses += m.row.name == "loss";
  EXPECT_EQ(losses, 8);
  for (size_t i = 1; i < rows.size(); ++i) EXPECT_LT(rows[i - 1].seq, rows[i].seq);

  // A second sync finds nothing new.
  const track::SyncReport again = store.sync();
  EXPECT_EQ(again.new_metrics, 0);
  EXPECT_EQ(again.changed_runs, 0);
}

TEST(RunStore, RunJsonKeepsItsIdAcrossResumeAndSaysHowTheRunEnded) {
  const std::string data = test::this_test_scratch("runs_");
  TrainConfig config = test::tiny_run_config(data, data + "/runs/resumed");
  std::atomic<bool> stop{false};
  TrainRunOptions first;
  first.stop = &stop;
  first.on_report = [&](const StepReport& r) {
    if (!r.is_eval && r.step == 4) stop = true;
  };
  ASSERT_TRUE(run_training(config, first).interrupted);
  const json interrupted = json::parse(std::ifstream(config.output_dir + "/run.json"));
  EXPECT_EQ(interrupted["status"], "interrupted");

  TrainRunOptions resume;
  resume.resume = true;
  ASSERT_FALSE(run_training(config, resume).interrupted);
  const json finished = json::parse(std::ifstream(config.output_dir + "/run.json"));
  EXPECT_EQ(finished["id"], interrupted["id"]);
  EXPECT_EQ(finished["started_at"], interrupted["started_at"]);
  EXPECT_EQ(finished["status"], "finished");
  EXPECT_TRUE(finished["finished_at"].is_number());

  // A run that fails says so, with the error.
  TrainConfig broken = config;
  broken.output_dir = data + "/runs/broken";
  TrainRunOptions failing;
  failing.on_report = [](const StepReport&) { throw Error("[test] the step failed"); };
  EXPECT_THROW(run_training(broken, failing), Error);
  const json failed = json::parse(std::ifstream(broken.output_dir + "/run.json"));
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_NE(failed["error"].get<std::string>().find("the step failed"), std::string::npos);
}

TEST(RunStore, FollowsMetricsIncrementallyAndWaitsForAPartialLine) {
  const std::string data = test::this_test_scratch("runs_");
  const std::string dir = test::hand_run(data + "/runs/hand", "method: lora\nlora_r: 8\n");
  const std::string metrics = dir + "/metrics.jsonl";
  test::append(metrics, test::step_line(1, 2.0) + test::step_line(2, 1.5));
  track::RunStore store(data);
  EXPECT_EQ(store.sync().new_metrics, 8);  // epoch, loss, lr, elapsed_s per line
  const std::string id = only_run(store)["id"];
  EXPECT_EQ(id, track::path_run_id(dir));  // no run.json: an id from the path
  const int64_t last_seq = all_metrics(store, id).back().seq;

  // A line half written: nothing yet.
  const std::string third = test::step_line(3, 1.0);
  test::append(metrics, third.substr(0, 10));
  EXPECT_EQ(store.sync().new_metrics, 0);
  test::append(metrics, third.substr(10));
  const track::SyncReport report = store.sync();
  EXPECT_EQ(report.new_metrics, 4);
  const std::vector<track::StoredMetric> after = store.metrics(id, last_seq, 100);
  ASSERT_EQ(after.size(), 4u);
  for (const auto& m : after) EXPECT_EQ(m.row.step, 3);
  const json run = only_run(store);
  EXPECT_EQ(run["best"]["loss"], 1.0);
  EXPECT_EQ(run["last"]["loss"], 1.0);
  EXPECT_EQ(run["steps"], 3);
  EXPECT_EQ(run["method"], "lora");
  EXPECT_EQ(run["status"], "unknown");  // no run.json and no outputs
}

TEST(RunStore, CountsAndNamesACorruptLineAndKeepsReading) {
  const std::string data = test::this_test_scratch("runs_");
  const std::string dir = test::hand_run(data + "/runs/corrupt", "method: full\n");
  const std::string metrics = dir + "/metrics.jsonl";
  test::append(metrics, test::step_line(1, 2.0) + "{\"step\": 2, \"loss\": 1.\n" + "[1, 2]\n" + test::step_line(4, 1.0));
  track::RunStore store(data);
  const track::SyncReport report = store.sync();
  ASSERT_EQ(report.problems.size(), 2u);
  EXPECT_EQ(report.problems[0], "[" + fs::absolute(metrics).lexically_normal().string() + ":2] not JSON");
  EXPECT_NE(report.problems[1].find("metrics.jsonl:3] not a JSON object"), std::string::npos) << report.problems[1];
  const json run = only_run(store);
  EXPECT_EQ(run["bad_lines"], 2);
  EXPECT_EQ(run["problems"].size(), 2u);
  EXPECT_EQ(run["steps"], 4);
  EXPECT_TRUE(store.sync().problems.empty());  // reported once, counted for good
}

TEST(RunStore, ReadsARewrittenFileAgainFromItsStart) {
  const std::string data = test::this_test_scratch("runs_");
  const std::string dir = test::hand_run(data + "/runs/rewritten", "method: lora\n");
  const std::string metrics = dir + "/metrics.jsonl";
  test::append(metrics, test::step_line(1, 3.0) + test::step_line(2, 2.5) + test::step_line(3, 2.0));
  track::RunStore store(data);
  store.sync();
  // A resumed run keeps the lines up to its checkpoint and writes on from there.
  std::ofstream(metrics, std::ios::trunc) << test::step_line(1, 3.0) << test::step_line(2, 2.25) << test::step_line(3, 1.75);
  store.sync();
  const json run = only_run(store);
  EXPECT_EQ(run["last"]["loss"], 1.75);
  EXPECT_EQ(run["best"]["loss"], 1.75);
  EXPECT_EQ(all_metrics(store, run["id"]).size(), 12u);
}

TEST(RunStore, MarksAVanishedFolderMissingAndFollowsAMovedOne) {
  const std::string data = test::this_test_scratch("runs_");
  const std::string dir = test::hand_run(data + "/runs/gone", "method: lora\n");
  test::append(dir + "/metrics.jsonl", test::step_line(1, 2.0));
  std::ofstream(dir + "/run.json") << json({{"id", "run-00000000abcd"}, {"status", "finished"}}).dump();
  track::RunStore store(data);
  store.sync();
  fs::rename(dir, data + "/elsewhere");
  store.sync();
  json run = only_run(store);
  EXPECT_TRUE(run["missing"].get<bool>());
  EXPECT_EQ(all_metrics(store, "run-00000000abcd").size(), 4u);  // kept

  // Brought back under another name: the same run, its rows kept.
  fs::rename(data + "/elsewhere", data + "/runs/back");
  const track::SyncReport report = store.sync();
  EXPECT_EQ(report.new_metrics, 0);
  run = only_run(store);
  EXPECT_FALSE(run["missing"].get<bool>());
  EXPECT_EQ(run["id"], "run-00000000abcd");
  EXPECT_EQ(run["dir"], fs::absolute(data + "/runs/back").lexically_normal().string());

  // A copy beside it gets an id of its own, and says why.
  fs::copy(data + "/runs/back", data + "/runs/copy", fs::copy_options::recursive);
  const track::SyncReport copied = store.sync();
  ASSERT_EQ(store.runs().size(), 2u);
  ASSERT_EQ(copied.problems.size(), 1u);
  EXPECT_NE(copied.problems[0].find("a copy?"), std::string::npos) << copied.problems[0];
  EXPECT_TRUE(store.run(track::path_run_id(data + "/runs/copy")).has_value());
}

TEST(RunStore, TracksAFolderAddedByHandAndJobsAsJobs) {
  const std::string data = test::this_test_scratch("runs_");
  const std::string outside = test::hand_run(test::this_test_scratch("outside_") + "/old", "method: full\n");
  test::hand_run(data + "/jobs/ftjob-1", "method: lora\n");
  track::RunStore store(data);
  store.add_folder(outside);
  const std::vector<json> runs = store.runs();
  ASSERT_EQ(runs.size(), 2u);
  std::set<std::string> sources;
  for (const json& run : runs) sources.insert(run["name"].get<std::string>() + ":" + run["source"].get<std::string>());
  EXPECT_EQ(sources, (std::set<std::string>{"old:cli", "ftjob-1:job"}));
  test::expect_error([&] { store.add_folder(data + "/nothing"); }, {"nothing", "not a folder"});
}

// A sync is one transaction: a process killed while it indexes a large file
// leaves the store as it was before that sync, never half of it.
TEST(RunStore, SyncKilledMidwayLeavesNoHalfState) {
  const std::string data = test::this_test_scratch("runs_");
  const std::string dir = test::hand_run(data + "/runs/big", "method: lora\n");
  const std::string metrics = dir + "/metrics.jsonl";
  {
    std::ofstream out(metrics);
    for (int step = 1; step <= 20000; ++step) out << test::step_line(step, 1.0 / step);
  }
  // How long a whole sync takes here, on a copy, so that the kills below land
  // inside one on a fast machine and on a slow one alike.
  const std::string probe = test::this_test_scratch("probe_");
  std::filesystem::copy(data, probe, std::filesystem::copy_options::recursive);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(test::run_whet_command(test::whet_path() + " runs list --data-dir " + probe).exit_code, 0);
  const double whole = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int killed = 0;
  for (const double fraction : {0.2, 0.45, 0.7}) {
    // `whet runs list` syncs first; killed (SIGKILL: no clean-up) somewhere in it.
    killed += test::run_whet_command(fmt::format("timeout -s KILL {:.3f} {} runs list --data-dir {}", fraction * whole,
                                                 test::whet_path(), data)).exit_code == 137;
    // Whatever it got to: the rows match the lines the store says it read.
    track::RunStore store(data);
    const std::vector<json> runs = store.runs();
    if (runs.empty()) continue;  // killed before its commit: nothing
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2((data + "/tracking.sqlite").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    sqlite3_prepare_v2(db, "SELECT metrics_lines, (SELECT count(*) FROM metrics) FROM runs", -1, &statement, nullptr);
    ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
    EXPECT_EQ(values_in_lines(metrics, sqlite3_column_int64(statement, 0)), sqlite3_column_int64(statement, 1));
    sqlite3_finalize(statement);
    sqlite3_close(db);
  }
  EXPECT_GT(killed, 0) << "every sync ended before its kill: the test saw no kill mid-sync";
  track::RunStore store(data);
  store.sync();
  EXPECT_EQ(only_run(store)["steps"], 20000);
  EXPECT_EQ(int64_t(all_metrics(store, only_run(store)["id"]).size()), 20000 * 4);
}

TEST(RunStore, ComparesRunsByTheirDifferingKeysAndMetrics) {
  const std::string data = test::this_test_scratch("runs_");
  const std::string a = test::hand_run(data + "/runs/a", "method: lora\nlora_r: 8\nlearning_rate: 0.001\n");
  const std::string b = test::hand_run(data + "/runs/b", "method: lora\nlora_r: 16\nlearning_rate: 0.001\n");
  test::append(a + "/metrics.jsonl", test::step_line(1, 2.0) + "{\"step\": 1, \"val_loss\": 1.9}\n");
  test::append(b + "/metrics.jsonl", test::step_line(1, 1.8) + test::step_line(2, 1.9));
  track::RunStore store(data);
  store.sync();
  const std::string id_a = track::path_run_id(a), id_b = track::path_run_id(b);
  const json comparison = track::compare_runs({*store.run(id_a), *store.run(id_b)});
  EXPECT_EQ(comparison["differing_params"], json({{"lora_r", {{id_a, 8}, {id_b, 16}}}}));
  EXPECT_EQ(comparison["metrics"]["loss"][id_b], json({{"best", 1.8}, {"last", 1.9}}));
  EXPECT_EQ(comparison["metrics"]["val_loss"][id_a], json({{"best", 1.9}, {"last", 1.9}}));
  EXPECT_EQ(comparison["metrics"]["val_loss"][id_b], json({{"best", nullptr}, {"last", nullptr}}));
  EXPECT_EQ(comparison["runs"].size(), 2u);
}

TEST(RunStore, RefusesAnotherProgramsDatabase) {
  const std::string data = test::this_test_scratch("runs_");
  sqlite3* db = nullptr;
  sqlite3_open((data + "/tracking.sqlite").c_str(), &db);
  sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  test::expect_error([&] { track::RunStore store(data); }, {"tracking.sqlite", "not one of the run tracker's"});
}

}  // namespace
}  // namespace whet

namespace whet {
namespace {

// The metric a run is judged by follows its config: metric_for_best_model names
// it (an eval_task metric is logged as eval_<name>), greater_is_better turns its
// direction round when a config sets it, and without either val_loss is the judge.
TEST(RunStore, TheBestMetricFollowsTheRunsConfig) {
  const std::string data = test::this_test_scratch("runs_");
  const std::string lines = R"({"step": 1, "val_loss": 2.0, "eval_accuracy": 0.5}
{"step": 2, "val_loss": 1.0, "eval_accuracy": 0.8}
{"step": 3, "val_loss": 3.0, "eval_accuracy": 0.7}
)";
  const std::map<std::string, std::string> configs = {
      {"by_accuracy", "method: lora\nmetric_for_best_model: accuracy\n"},
      {"by_loss", "method: lora\nmetric_for_best_model: val_loss\n"},
      {"turned", "method: lora\nmetric_for_best_model: accuracy\ngreater_is_better: false\n"},
      {"unset", "method: lora\n"}};
  for (const auto& [name, yaml] : configs) test::append(test::hand_run(data + "/runs/" + name, yaml) + "/metrics.jsonl", lines);
  track::RunStore store(data);
  store.sync();
  std::map<std::string, json> best;
  for (const json& run : store.runs()) best[run["name"]] = run["best_metric"];
  EXPECT_EQ(best["by_accuracy"], json({{"name", "eval_accuracy"}, {"value", 0.8}, {"greater_is_better", true}, {"from_config", true}}));
  EXPECT_EQ(best["by_loss"], json({{"name", "val_loss"}, {"value", 1.0}, {"greater_is_better", false}, {"from_config", true}}));
  EXPECT_EQ(best["turned"], json({{"name", "eval_accuracy"}, {"value", 0.5}, {"greater_is_better", false}, {"from_config", true}}));
  EXPECT_EQ(best["unset"], json({{"name", "val_loss"}, {"value", 1.0}, {"greater_is_better", false}, {"from_config", false}}));
}

}  // namespace
}  // namespace whet
