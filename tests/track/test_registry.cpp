// The registry's store: versions copied and immutable, aliases moved in one
// logged transaction, roll-back from the log, the gate's refusal, errors that
// list what exists, and two writers racing on one database.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "core/error.h"
#include "track/registry_source.h"
#include "track/registry_store.h"
#include "track/registry_runs.h"

namespace whet {
namespace {

namespace fs = std::filesystem;
using track::RegistryStore;

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no whet::Error";
  return "";
}

struct Registry : ::testing::Test {
  std::string dir = test::scratch_dir(std::string("registry_") +
                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::string data = dir + "/data";
  std::string run(const std::string& name, std::optional<bool> gate = std::nullopt) {
    return test::make_run(dir + "/" + name, test::tiny_lora(), "run-" + name, gate);
  }
};

TEST_F(Registry, RegisterCopiesTheRunsAdapterWithItsBaseAndRunId) {
  RegistryStore store(data);
  const std::string from = run("a");
  const track::ModelVersion v = track::register_version(store, "support", from, {});
  EXPECT_EQ(v.version, 1);
  EXPECT_EQ(v.kind, track::VersionKind::Adapter);
  EXPECT_EQ(v.path, fs::absolute(data).lexically_normal().string() + "/registry/support/1");
  EXPECT_EQ(v.base_model, fs::absolute(test::tiny_base()).lexically_normal().string());
  EXPECT_EQ(v.base_hash, track::base_identity(test::tiny_base()));
  EXPECT_EQ(v.base_hash.size(), 32u);
  EXPECT_EQ(v.run_id, "run-a");
  EXPECT_EQ(v.source, fs::absolute(from).lexically_normal().string());
  EXPECT_TRUE(v.gate.is_null());
  // The version stands on its own: the run folder can go.
  fs::remove_all(from);
  EXPECT_TRUE(fs::exists(v.path + "/adapter_model.safetensors"));
  EXPECT_FALSE(fs::exists(data + "/registry/.staging") && !fs::is_empty(data + "/registry/.staging"));
  EXPECT_EQ(track::register_version(store, "support", run("b"), {}).version, 2);
  const track::RegisteredModel model = store.get_model("support");
  ASSERT_EQ(model.versions.size(), 2u);
  EXPECT_EQ(model.latest_version(), 2);
  // Another process (a new connection) reads the same.
  EXPECT_EQ(RegistryStore(data).get_version("support", 2).run_id, "run-b");
}

TEST_F(Registry, AnAdapterFolderGivenDirectlyNeedsItsBase) {
  RegistryStore store(data);
  const std::string bare = dir + "/bare";
  fs::copy(test::tiny_lora(), bare, fs::copy_options::recursive);
  EXPECT_NE(message_of([&] { track::register_version(store, "x", bare, {}); }).find("--base"), std::string::npos);
  track::RegisterOptions options;
  options.base = test::tiny_base();
  const track::ModelVersion v = track::register_version(store, "x", bare, options);
  EXPECT_EQ(v.run_id, "");
  EXPECT_EQ(v.base_model, fs::absolute(test::tiny_base()).lexically_normal().string());
  // A run's adapter/ given directly still finds its run.
  EXPECT_EQ(track::register_version(store, "x", run("r") + "/adapter", {}).run_id, "run-r");
  EXPECT_NE(message_of([&] { track::register_version(store, "x", dir + "/nothing", {}); }).find("not a folder"),
            std::string::npos);
  EXPECT_NE(message_of([&] { track::register_version(store, "x", run("s"), {.best = true}); }).find("best/"),
            std::string::npos);
}

TEST_F(Registry, PromoteAndRollBackFollowTheLog) {
  RegistryStore store(data);
  for (const char* name : {"a", "b", "c"}) track::register_version(store, "m", run(name), {});
  store.promote("m", "champion", 1, "first");
  store.promote("m", "champion", 2, "better");
  store.promote("m", "challenger", 3, "");
  EXPECT_EQ(store.get_model("m").aliases, (std::map<std::string, int64_t>{{"challenger", 3}, {"champion", 2}}));

  const track::RegistryEvent back = store.rollback("m", "champion", "regression");
  EXPECT_EQ(back.action, "rollback");
  EXPECT_EQ(back.from_version, 2);
  EXPECT_EQ(back.to_version, 1);
  EXPECT_EQ(store.version_for_alias("m", "champion").version, 1);
  // The first promotion set it from nothing: there is nowhere further back.
  EXPECT_NE(message_of([&] { store.rollback("m", "champion", ""); }).find("nothing to roll back to"),
            std::string::npos);
  // A deleted alias comes back with a roll-back.
  store.promote("m", "champion", 3, "");
  store.delete_alias("m", "champion", "retired");
  EXPECT_FALSE(store.get_model("m").aliases.contains("champion"));
  store.rollback("m", "champion", "");
  EXPECT_EQ(store.version_for_alias("m", "champion").version, 3);
  store.rollback("m", "champion", "");  // undoes the promotion to 3: back to 1
  EXPECT_EQ(store.version_for_alias("m", "champion").version, 1);

  std::vector<std::string> actions;
  for (const track::RegistryEvent& e : store.events("m")) actions.push_back(e.action + (e.alias.empty() ? "" : "@" + e.alias));
  EXPECT_EQ(actions, (std::vector<std::string>{"register", "register", "register", "promote@champion",
                                               "promote@champion", "promote@challenger", "rollback@champion",
                                               "promote@champion", "delete_alias@champion", "rollback@champion",
                                               "rollback@champion"}));
  EXPECT_EQ(store.events("m")[4].reason, "better");
}

TEST_F(Registry, AFailedGateIsPromotedOnlyWhenForced) {
  RegistryStore store(data);
  track::register_version(store, "m", run("ok", true), {});
  const track::ModelVersion gated = track::register_version(store, "m", run("bad", false), {});
  EXPECT_TRUE(gated.gate_failed());
  EXPECT_TRUE(fs::exists(gated.path + "/gate.json"));  // the verdict travels with the version
  EXPECT_NE(gated.gate_reason().find("perplexity 12.5 -> 19"), std::string::npos) << gated.gate_reason();
  store.promote("m", "champion", 1, "");
  const std::string refused = message_of([&] { store.promote("m", "champion", 2, ""); });
  EXPECT_NE(refused.find("forgetting gate"), std::string::npos) << refused;
  EXPECT_NE(refused.find("--force"), std::string::npos) << refused;
  EXPECT_EQ(store.version_for_alias("m", "champion").version, 1);
  EXPECT_EQ(store.events("m").size(), 3u);  // nothing logged for the refusal
  store.promote("m", "champion", 2, "accepted the loss", /*force=*/true);
  EXPECT_EQ(store.version_for_alias("m", "champion").version, 2);
}

TEST_F(Registry, ErrorsNameWhatIsMissingAndListWhatExists) {
  RegistryStore store(data);
  EXPECT_NE(message_of([&] { store.get_model("nope"); }).find("none is registered yet"), std::string::npos);
  track::register_version(store, "alpha", run("a"), {});
  track::register_version(store, "beta", run("b"), {});
  store.promote("alpha", "champion", 1, "");
  const std::string unknown = message_of([&] { store.get_model("gamma"); });
  EXPECT_NE(unknown.find("'gamma'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("alpha, beta"), std::string::npos) << unknown;
  const std::string version = message_of([&] { store.get_version("alpha", 7); });
  EXPECT_NE(version.find("no version 7"), std::string::npos) << version;
  EXPECT_NE(version.find("1 to 1"), std::string::npos) << version;
  const std::string alias = message_of([&] { store.version_for_alias("alpha", "staging"); });
  EXPECT_NE(alias.find("'staging'"), std::string::npos) << alias;
  EXPECT_NE(alias.find("champion (version 1)"), std::string::npos) << alias;
  EXPECT_NE(message_of([&] { store.promote("alpha", "champion", 5, ""); }).find("no version 5"), std::string::npos);
  for (const char* bad : {"a/b", "", "x@y", "has space"})
    EXPECT_NE(message_of([&] { track::check_model_name(bad); }).find("letters, digits"), std::string::npos) << bad;
  for (const char* bad : {"3", "latest"})
    EXPECT_NE(message_of([&] { track::check_alias_name(bad); }).find("read as a version"), std::string::npos) << bad;
  EXPECT_NE(message_of([&] { track::register_version(store, "bad/name", run("c"), {}); }).find("letters"),
            std::string::npos);
}

TEST_F(Registry, AFolderLeftByACrashBeforeTheCommitIsReplaced) {
  RegistryStore store(data);
  track::register_version(store, "m", run("a"), {});
  // Killed between the rename and the commit: version 2's folder exists, its row does not.
  fs::create_directories(data + "/registry/m/2");
  test::write_text(data + "/registry/m/2/stale", "x");
  const track::ModelVersion v = track::register_version(store, "m", run("b"), {});
  EXPECT_EQ(v.version, 2);
  EXPECT_FALSE(fs::exists(v.path + "/stale"));
  EXPECT_TRUE(fs::exists(v.path + "/adapter_config.json"));
}

TEST_F(Registry, AFileThatIsNotTheRegistryIsRefused) {
  fs::create_directories(data);
  test::write_text(data + "/registry.sqlite", std::string(4096, 'x'));
  const std::string refused = message_of([&] { RegistryStore store(data); });
  EXPECT_NE(refused.find("registry.sqlite"), std::string::npos) << refused;
}

// Two writers (separate connections, as two processes have) promote in turns
// as fast as they can: every event starts where the one before it ended, and
// the alias is where the last event left it.
TEST_F(Registry, RacingPromotionsKeepTheLogAndTheAliasConsistent) {
  {
    RegistryStore store(data);
    for (const char* name : {"a", "b", "c"}) track::register_version(store, "m", run(name), {});
  }
  constexpr int kEach = 25;
  auto promoter = [&](int64_t first) {
    RegistryStore store(data);
    for (int i = 0; i < kEach; ++i) {
      store.promote("m", "champion", first + i % 2, "race");
      if (i % 5 == 4) store.rollback("m", "champion", "race");
    }
  };
  std::thread one(promoter, 1), two(promoter, 2);
  one.join();
  two.join();
  RegistryStore store(data);
  std::optional<int64_t> at;
  int changes = 0;
  for (const track::RegistryEvent& e : store.events("m")) {
    if (e.alias != "champion") continue;
    EXPECT_EQ(e.from_version, at) << "event " << e.seq;
    at = e.to_version;
    ++changes;
  }
  EXPECT_EQ(changes, 2 * (kEach + kEach / 5));
  ASSERT_TRUE(at);
  EXPECT_EQ(store.version_for_alias("m", "champion").version, *at);
}

}  // namespace
}  // namespace whet
