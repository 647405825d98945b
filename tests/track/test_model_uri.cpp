// models:/NAME@ALIAS, models:/NAME/VERSION and models:/NAME: parsed strictly,
// resolved against the registry as it is at the call, errors listing what exists.
#include <gtest/gtest.h>

#include "core/error.h"
#include "track/model_uri.h"
#include "track/registry_runs.h"
#include "track/registry_source.h"

namespace whet {
namespace {

using track::parse_model_uri;

std::string parse_error(const std::string& text) {
  try {
    parse_model_uri(text);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << text << " parsed";
  return "";
}

TEST(ModelUri, ParsesTheThreeForms) {
  const track::ModelUri alias = parse_model_uri("models:/support-bot@champion");
  EXPECT_EQ(alias.name, "support-bot");
  EXPECT_EQ(alias.alias, "champion");
  EXPECT_FALSE(alias.version);
  const track::ModelUri version = parse_model_uri("models:/support.v2/12");
  EXPECT_EQ(version.name, "support.v2");
  EXPECT_EQ(version.version, 12);
  EXPECT_EQ(version.alias, "");
  const track::ModelUri latest = parse_model_uri("models:/x");
  EXPECT_EQ(latest.name, "x");
  EXPECT_FALSE(latest.version);
  EXPECT_EQ(latest.alias, "");
  EXPECT_TRUE(track::is_model_uri("models:/x"));
  EXPECT_FALSE(track::is_model_uri("runs/x/adapter"));
  EXPECT_FALSE(track::is_model_uri("model:/x"));
}

TEST(ModelUri, MalformedUrisSayWhatIsWrong) {
  for (const auto& [text, why] : std::vector<std::pair<std::string, std::string>>{
           {"models:/", "model name"},
           {"models:/x@", "alias ''"},
           {"models:/x/", "version ''"},
           {"models:/x/0", "version '0'"},
           {"models:/x/2a", "version '2a'"},
           {"models:/x/-1", "version '-1'"},
           {"models:/x/99999999999999999999999", "not a number"},
           {"models:/x@champ/2", "not both"},
           {"models:/x@7", "read as a version"},
           {"models:/a b", "letters"},
           {"models:/x/1/2", "version '1/2'"},
           {"runs/x", "does not start with models:/"}}) {
    const std::string message = parse_error(text);
    EXPECT_NE(message.find(why), std::string::npos) << text << ": " << message;
    EXPECT_NE(message.find("models:/NAME@ALIAS"), std::string::npos) << message;
  }
}

TEST(ModelUri, ResolvesAgainstTheRegistryAsItIsNow) {
  const std::string dir = test::scratch_dir("model_uri_resolve");
  track::RegistryStore store(dir + "/data");
  for (const char* run : {"a", "b"})
    track::register_version(store, "m", test::make_run(dir + "/" + run, test::tiny_lora(), run), {});
  store.promote("m", "champion", 1, "");
  const track::ResolvedModel champion = track::resolve_model_uri(store, "models:/m@champion");
  EXPECT_EQ(champion.version.version, 1);
  EXPECT_EQ(champion.adapter, champion.version.path);
  EXPECT_EQ(champion.model, champion.version.base_model);
  EXPECT_EQ(track::resolve_model_uri(store, "models:/m").version.version, 2);
  EXPECT_EQ(track::resolve_model_uri(store, "models:/m/2").version.run_id, "b");
  store.promote("m", "champion", 2, "");
  EXPECT_EQ(track::resolve_model_uri(store, "models:/m@champion").version.version, 2);
  auto error = [&](const std::string& uri) {
    try {
      track::resolve_model_uri(store, uri);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("resolved");
  };
  EXPECT_NE(error("models:/m@staging").find("its aliases: champion (version 2)"), std::string::npos);
  EXPECT_NE(error("models:/m/3").find("1 to 2"), std::string::npos);
  EXPECT_NE(error("models:/other").find("registered: m"), std::string::npos);
}

}  // namespace
}  // namespace whet
