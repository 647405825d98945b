// whet watch once on the real default model, as a user runs it: 100 new
// labelled support tickets (examples/tickets) arrive in the watched folder;
// the cycle trains a challenger with the defaults (replay and distillation
// against forgetting), scores it against the champion (the base model, since
// nothing is promoted yet) on the 50 held-out validation tickets and promotes
// it, with the reason and evidence recorded; models:/tickets@champion then
// answers as that version does. Measured 2026-12-06: accuracy 0.20 -> 0.62
// on the 50 validation tickets (p 0.000; on the 125 test tickets 0.232 -> 0.592),
// general-text perplexity +4.7% (gate passed), the counterfactual gap 4.28 -> 3.92;
// 2.5 to 4 minutes on two shared cores.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/run_whet.h"
#include "io/json_fields.h"

namespace whet::test {
namespace {

TEST(RealModelLoop, NewTicketsTrainAChallengerThatBeatsTheBaseAndIsPromoted) {
  WHET_REQUIRE_DEFAULT_MODEL();
  const std::string dir = scratch_dir("real_model_loop");
  const std::string tickets = source_path("examples/tickets");
  std::filesystem::create_directories(dir + "/incoming");
  {
    std::ifstream in(tickets + "/train.jsonl");
    std::ofstream out(dir + "/incoming/tickets-1.jsonl");
    std::string line;
    for (int i = 0; i < 100 && std::getline(in, line); ++i) out << line << "\n";
  }
  std::ofstream(dir + "/train.yaml") << "method: lora\nweights: auto\nsequence_len: 256\nsample_packing: true\nlora_r: 8\n"
                                        "lora_alpha: 16\nlora_target_modules: all-linear\nlearning_rate: 0.001\n"
                                        "lr_scheduler: cosine\nwarmup_steps: 2\nnum_epochs: 2\nmicro_batch_size: 2\n";
  std::ofstream(dir + "/loop.yaml") << "name: tickets\nincoming: incoming\ntrain: train.yaml\ntask: " << tickets
                                    << "/val.jsonl\n";
  const std::string data = " --data-dir " + dir + "/data";
  const RunResult r = run_whet("watch " + dir + "/loop.yaml --once" + data);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::cout << r.err.substr(r.err.find("cycle 1: PROMOTED") == std::string::npos ? 0 : r.err.find("cycle 1: PROMOTED"));

  const nlohmann::json d = read_json_object(dir + "/data/loops/tickets/cycles/0001/decision.json");
  ASSERT_EQ(d["decision"], "promoted") << d.dump(2);
  const nlohmann::json& c = d["evaluation"]["comparison"];
  EXPECT_EQ(c["metric"], "accuracy");
  EXPECT_EQ(c["items"], 50);
  EXPECT_GT(c["improvement"].get<double>(), 0.25) << c.dump();
  EXPECT_LT(c["p_value"].get<double>(), 0.01) << c.dump();
  EXPECT_TRUE(d["evaluation"]["forgetting"]["passed"].get<bool>()) << d["evaluation"]["forgetting"].dump();
  EXPECT_FALSE(d["evaluation"]["bias"]["failed"].get<bool>()) << d["evaluation"]["bias"].dump();

  // The name serves the promoted version: the base with the version's adapter, not the base alone.
  const std::string ticket = " --raw --temperature 0 --max-tokens 6 --prompt \"$(printf "
                             "'Message: My card was swallowed by the cash machine this morning\\nDepartment:')\"";
  auto answer = [&](const std::string& model) {
    const RunResult r = run_whet_command("WHET_DATA_DIR=" + dir + "/data " + whet_path() + " generate " + model + ticket);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  const std::string champion = answer("models:/tickets@champion");
  EXPECT_EQ(champion, answer(default_model_path() + " --adapter " + dir + "/data/registry/tickets/1"));
  EXPECT_NE(champion, answer(default_model_path())) << champion;
}

}  // namespace
}  // namespace whet::test
