// Activation checkpointing (LlamaActivations::checkpointed_blocks) changes where
// activations live and when they are made, never their values: on the tiny
// models, the loss and every gradient (full fine-tuning, frozen first blocks, a
// LoRA adapter with dropout) are bit-identical with none, some and all blocks
// checkpointed; and the memory estimate shrinks by what checkpointing saves.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gradient_checks.h"
#include "models/llama_block.h"
#include "models/llama_train.h"
#include "models/memory_estimate.h"
#include "models/model_loader.h"
#include "random_lora.h"
#include "test_support.h"
#include "train/train_step.h"

namespace whet {
namespace {

// The packed sequence of the gradient references: several examples, prompt rows without a target.
TrainingSequence read_reference_sequence(const std::string& dir) {
  return test::read_training_sequence(nlohmann::json::parse(std::ifstream(dir + "/sequence.json")));
}

// Every gradient buffer of a pass, flattened in a fixed order: base weights that train, then the adapter's.
struct Gradients {
  CrossEntropyResult result;
  std::vector<std::vector<float>> tensors;
};

enum class What { Full, FrozenFirstBlock, Lora };

Gradients train_once(const LoadedModel& loaded, What what, const TrainingSequence& seq, int checkpointed) {
  const LlamaConfig& c = loaded.model.config;
  LlamaWeights grads = make_gradients(loaded.model, [&](const std::string& name) {
    if (what == What::Lora) return false;
    return what == What::Full || (name.rfind("blk.0.", 0) != 0 && name != "token_embd.weight");
  });
  LoraConfig lora_config;
  lora_config.rank = 4;
  lora_config.targets = {Projection::Q, Projection::K, Projection::V, Projection::O,
                         Projection::Gate, Projection::Up, Projection::Down};
  const LlamaLora lora = test::random_lora(c, lora_config, 11);
  LlamaLora lora_grads = zeros_like(lora);
  TrainPass pass;
  if (what == What::Lora) {
    pass.lora = &lora;
    pass.lora_grads = &lora_grads;
    pass.lora_dropout = 0.2f;  // the recomputed forward must draw the same masks
    pass.dropout_seed = 5;
  } else {
    pass.grads = &grads;
  }
  LlamaActivations acts(c, int64_t(seq.ids.size()), what == What::Lora ? lora_config.rank : 0, checkpointed);
  EXPECT_EQ(acts.checkpointed_blocks, std::min(checkpointed, c.num_layers));
  Gradients out;
  out.result = llama_forward_backward(loaded.model, pass, acts, view(seq), 0.5f);
  for_each_weight(grads, c, [&](const std::string&, const Weight& g) {
    if (g.data) out.tensors.emplace_back(grad_data(g), grad_data(g) + g.numel());
  });
  for_each_lora_tensor(lora_grads, [&](const std::string&, std::vector<float>& g, int64_t, int64_t) {
    out.tensors.push_back(g);
  });
  return out;
}

void expect_identical(const Gradients& want, const Gradients& got) {
  EXPECT_EQ(std::memcmp(&want.result.loss_sum, &got.result.loss_sum, sizeof(double)), 0)
      << want.result.loss_sum << " vs " << got.result.loss_sum;
  EXPECT_EQ(want.result.targets, got.result.targets);
  ASSERT_EQ(want.tensors.size(), got.tensors.size());
  for (size_t i = 0; i < want.tensors.size(); ++i) {
    ASSERT_EQ(want.tensors[i].size(), got.tensors[i].size());
    EXPECT_EQ(std::memcmp(want.tensors[i].data(), got.tensors[i].data(), sizeof(float) * want.tensors[i].size()), 0)
        << "gradient tensor " << i;
  }
}

TEST(ActivationCheckpointing, GradientsAreBitIdentical) {
  // A gated Llama with GQA, LayerNorm with biases (GPT-2), and q/k plus sandwich norms (Gemma 3).
  for (const char* variant : {"gqa_tied", "gpt2_tiny", "gemma3_sandwich"}) {
    const std::string dir = test::testdata_path(std::string("tiny/") + variant);
    const LoadedModel loaded = load_model(dir + "/hf", WeightFormat::F32);
    const TrainingSequence seq = read_reference_sequence(dir + "/gradients");
    const int layers = loaded.model.config.num_layers;
    for (What what : {What::Full, What::FrozenFirstBlock, What::Lora}) {
      const Gradients plain = train_once(loaded, what, seq, 0);
      ASSERT_FALSE(plain.tensors.empty());
      bool moved = false;  // a pass whose gradients are all zero would prove nothing
      for (const std::vector<float>& t : plain.tensors)
        for (float g : t) moved = moved || g != 0.0f;
      EXPECT_TRUE(moved);
      for (int checkpointed : {1, layers - 1, layers, layers + 3}) {
        SCOPED_TRACE(fmt::format("{} what {} checkpointed {}", variant, int(what), checkpointed));
        expect_identical(plain, train_once(loaded, what, seq, checkpointed));
      }
    }
  }
}

// Checkpointing k blocks keeps one (t, hidden) input of each instead of its
// activations, and adds one block's worth to recompute into.
TEST(ActivationCheckpointing, EstimateCountsWhatIsKept) {
  const LoadedModel loaded = load_model(test::testdata_path("tiny/gqa_tied/hf"), WeightFormat::F32);
  const LlamaConfig& c = loaded.model.config;
  const int64_t seq = 64;
  const int64_t none = llama_activation_bytes(c, seq, 4, 0), one = llama_activation_bytes(c, seq, 4, 1),
                two = llama_activation_bytes(c, seq, 4, 2);
  const int64_t per_block_saving = one - two;  // a block's activations less its input
  EXPECT_GT(per_block_saving, 0);
  // The first checkpointed block also brings the shared recompute storage, as big
  // as a block with its input: one block alone costs one input more than none.
  EXPECT_EQ(one - none, 4 * seq * c.hidden_size);
  // The plan checkpoints the fewest blocks that fit, and says when nothing does.
  const MemoryEstimate base = estimate_lora_training(c, 4.0, 4, seq);
  const int64_t other = base.weights_bytes + base.trainable_state_bytes;
  EXPECT_EQ(plan_checkpointing(c, seq, 4, false, other, base.total()).blocks, 0);
  const CheckpointPlan tight = plan_checkpointing(c, seq, 4, false, other, base.total() - 1);
  EXPECT_EQ(tight.blocks, 2);  // one alone costs more than it saves
  EXPECT_TRUE(tight.fits);
  EXPECT_LT(other + tight.activation_bytes, base.total());
  const CheckpointPlan impossible = plan_checkpointing(c, seq, 4, false, other, other);
  EXPECT_EQ(impossible.blocks, c.num_layers);
  EXPECT_FALSE(impossible.fits);
}

}  // namespace
}  // namespace whet
