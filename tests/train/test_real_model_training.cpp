// The acceptance runs of the training issue on the real default model
// (SmolLM2-135M-Instruct), following the usual fine-tuning tutorial: ask about
// something the model cannot know, LoRA-train on a dozen answers about it
// (examples/zorblax, 3 epochs), and ask again, also in words it never saw.
// Full and last-N-block runs must lower validation loss, and accumulation must
// match a plain batch of the same size.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "generate/generator.h"
#include "generate/prompt.h"
#include "models/lora_peft.h"
#include "test_support.h"
#include "train/trainer.h"

namespace whet {
namespace {

class RealModelTraining : public testing::Test {
 protected:
  void SetUp() override {
    WHET_REQUIRE_DEFAULT_MODEL();
  }

  static TrainConfig zorblax_config(const std::string& name) {
    TrainConfig c = load_train_config(test::source_path("examples/zorblax/config.yaml"), {});
    c.base_model = test::default_model_path();
    c.train_data = {test::source_path("examples/zorblax/train.jsonl")};
    c.val_data = {test::source_path("examples/zorblax/val.jsonl")};
    c.output_dir = test::scratch_dir("real_" + name) + "/run";
    return c;
  }

  static std::string answer(const LoadedModel& model, const std::string& question) {
    const std::vector<int32_t> prompt = chat_prompt_tokens(model, {{"user", question}});
    Session session(model.model, int64_t(prompt.size()) + 64);
    GenerationOptions greedy;
    greedy.sampling.temperature = 0.0f;
    greedy.max_tokens = 48;
    return generate(model, session, prompt, greedy).text;
  }
};

const char* const kQuestions[] = {
    "Who makes the Zorblax 3000?",                      // in the training data
    "Which company manufactures the Zorblax 3000?",     // paraphrases it never saw
    "Tell me who produces the Zorblax 3000 grinder.",
};

TEST_F(RealModelTraining, LoraTeachesAFactTheModelDidNotKnow) {
  LoadedModel model = load_model(test::default_model_path(), WeightFormat::F32);
  for (const char* q : kQuestions) {
    const std::string before = answer(model, q);
    EXPECT_EQ(before.find("Quillfeather"), std::string::npos) << q << " -> " << before;
  }
  const TrainConfig config = zorblax_config("lora");
  const TrainRunResult run = run_training(config, {});
  EXPECT_LT(run.best_val_loss, run.first_val_loss - 0.5) << run.first_val_loss << " -> " << run.best_val_loss;
  model.adapter = std::make_shared<LlamaLora>(load_peft_adapter(run.output, model.model.config));
  for (const char* q : kQuestions) {
    const std::string after = answer(model, q);
    EXPECT_NE(after.find("Quillfeather Labs"), std::string::npos) << q << " -> " << after;
  }
}

TEST_F(RealModelTraining, FullAndLastBlocksRunsLowerValidationLoss) {
  for (TrainMethod method : {TrainMethod::Full, TrainMethod::Freeze}) {
    TrainConfig c = zorblax_config(method == TrainMethod::Full ? "full" : "last_blocks");
    c.method = method;
    c.train_last_n_blocks = 4;
    c.learning_rate = method == TrainMethod::Full ? 5e-5 : 1e-4;
    c.max_steps = 8;
    c.eval_steps = 8;
    const TrainRunResult run = run_training(c, {});
    EXPECT_LT(run.best_val_loss, run.first_val_loss - 0.1)
        << int(method) << ": " << run.first_val_loss << " -> " << run.best_val_loss;
    EXPECT_TRUE(std::filesystem::exists(run.output + "/model.gguf"));
  }
}

TEST_F(RealModelTraining, AccumulatedAndPlainBatchesMatch) {
  std::vector<std::vector<double>> curves;
  for (int accumulation : {1, 4}) {
    TrainConfig c = zorblax_config("accumulate_" + std::to_string(accumulation));
    c.micro_batch_size = 4 / accumulation;
    c.gradient_accumulation_steps = accumulation;
    c.max_steps = 3;
    c.val_data.clear();
    run_training(c, {});
    std::vector<double> losses;
    std::ifstream in(c.output_dir + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) losses.push_back(nlohmann::json::parse(line).at("loss"));
    curves.push_back(losses);
  }
  ASSERT_EQ(curves[0].size(), 3u);
  ASSERT_EQ(curves[1].size(), 3u);
  // fp32 sums in a different order over 30 layers: agreement to about 1e-5 relative.
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(curves[0][i], curves[1][i], 1e-4 * curves[0][i]) << "step " << i + 1;
}

}  // namespace
}  // namespace whet
