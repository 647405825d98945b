// The reference log-probabilities of preference runs: kept per weights and
// sequences in the run folder, read back by a resumed full fine-tuning run
// (whose weights have moved from the reference's), recomputed for other
// weights or data, refused when damaged; and an evaluation without them refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "models/model_loader.h"
#include "run_metrics.h"
#include "test_support.h"
#include "train/preference_step.h"
#include "train/reference_cache.h"
#include "train/trainer.h"

namespace whet {
namespace {

TrainingSequence answer(std::vector<int32_t> ids) {
  TrainingSequence s;
  s.targets.assign(ids.begin() + 1, ids.end());
  s.targets.push_back(2);
  s.targets[0] = -1;
  s.positions.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) s.positions[i] = int32_t(i);
  s.segment_begin.assign(ids.size(), 0);
  s.ids = std::move(ids);
  return s;
}

TEST(ReferenceCache, KeyFollowsWeightsAndSequencesAndDamageIsRefused) {
  const LoadedModel tied = load_model(test::testdata_path("tiny/gqa_tied/hf"));
  const LoadedModel untied = load_model(test::testdata_path("tiny/untied_llama3/hf"));
  const TrainingSequence a = answer({1, 5, 6, 7}), b = answer({1, 5, 8}), c = answer({1, 5, 9});
  const std::vector<ItemAnswers> train = {{&a, &b}}, other = {{&a, &c}}, none;
  const ReferenceKey key = reference_key(tied.model, train, none);
  EXPECT_EQ(key, reference_key(tied.model, train, none));
  EXPECT_NE(key.weights, reference_key(untied.model, train, none).weights);
  EXPECT_NE(key.sequences, reference_key(tied.model, other, none).sequences);
  EXPECT_NE(key.sequences, reference_key(tied.model, none, train).sequences);  // a split is part of the key

  const std::string path = test::scratch_dir("reference_cache") + "/reference_logps.json";
  std::filesystem::remove(path);
  EXPECT_FALSE(read_reference_cache(path, key, 1, 0));
  write_reference_cache(path, key, {{{-3.25, -7.5}}, {}});
  const auto read = read_reference_cache(path, key, 1, 0);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->train, (std::vector<ItemReferences>{{-3.25, -7.5}}));
  EXPECT_FALSE(read_reference_cache(path, reference_key(tied.model, other, none), 1, 0));  // someone else's

  nlohmann::json damaged = nlohmann::json::parse(std::ifstream(path));
  damaged["train"][0][1] = "x";
  std::ofstream(path) << damaged.dump();
  try {
    read_reference_cache(path, key, 1, 0);
    ADD_FAILURE() << "a damaged cache was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("train[0]"), std::string::npos) << e.what();
  }
}

TEST(ReferenceCache, AnEvaluationWithoutReferencesIsRefused) {
  const LoadedModel loaded = load_model(test::testdata_path("tiny/gqa_tied/hf"));
  const PreferenceSequences pair{answer({1, 5, 6}), answer({1, 5, 7})};
  const std::vector<ReferencedPair> unreferenced = {{&pair}};
  LlamaActivations acts(loaded.model.config, 16, 0);
  TrainConfig c;
  c.rl = "dpo";
  c.rpo_alpha = 0;
  c.rl_beta = 0.1;
  try {
    preference_eval(loaded, TrainableState{}, acts, unreferenced, preference_objective(c));
    ADD_FAILURE() << "an evaluation without references ran";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pair 1 has no reference log-probability"), std::string::npos) << e.what();
  }
}

// DPO with full fine-tuning on the tiny model: the run caches its references;
// interrupted and resumed, it reads them back instead of recomputing them from
// weights that have moved; it learns its pairs either way.
TEST(ReferenceCache, FullFineTuningDpoResumesWithTheCachedReference) {
  const std::string dir = test::scratch_dir("reference_cache_full");
  {
    std::ofstream out(dir + "/pairs.jsonl");
    for (int i = 0; i < 8; ++i)
      out << nlohmann::json{{"prompt", "the sea " + std::to_string(i % 4)},
                            {"chosen", " the tin"}, {"rejected", " the oak is here"}}.dump() << "\n";
  }
  TrainConfig c = train_config_from_overrides(
      {"base_model=" + test::testdata_path("tiny/gqa_tied/hf"), "output_dir=" + dir + "/run", "rl=dpo",
       "method=full", "train_data=" + dir + "/pairs.jsonl", "val_set_size=0.25", "learning_rate=1e-3",
       "num_epochs=4", "micro_batch_size=2", "sequence_len=32", "forgetting_gate=false", "save_steps=3",
       "early_stopping_patience=0", "eval_steps=3"});
  std::atomic<bool> stop{false};
  std::vector<std::string> said;
  TrainRunOptions options;
  options.stop = &stop;
  options.on_message = [&](const std::string& line) { said.push_back(line); };
  options.on_report = [&](const StepReport& r) { if (r.step == 5) stop = true; };
  ASSERT_TRUE(run_training(c, options).interrupted);
  ASSERT_TRUE(std::filesystem::exists(dir + "/run/reference_logps.json"));
  const nlohmann::json first = nlohmann::json::parse(std::ifstream(dir + "/run/reference_logps.json"));

  said.clear();
  stop = false;
  options.resume = true;
  const TrainRunResult resumed = run_training(c, options);
  ASSERT_FALSE(resumed.interrupted);
  bool read_back = false;
  for (const std::string& line : said) read_back |= line.starts_with("reference: read from");
  EXPECT_TRUE(read_back);
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(dir + "/run/reference_logps.json")), first);
  const std::vector<nlohmann::json> evals = test::read_run_metrics(dir + "/run").evals;
  ASSERT_FALSE(evals.empty());
  EXPECT_GT(evals.back().at("eval_rewards_margin").get<double>(), 0.0);
  EXPECT_TRUE(std::filesystem::exists(resumed.output + "/model.safetensors")) << resumed.output;
}

}  // namespace
}  // namespace whet
