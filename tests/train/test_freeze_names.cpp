// Which base weights a freeze run trains, by GGUF name, on GPT-2's tensors that
// the Llama family lacks: the position embedding goes with the embeddings, and
// a LayerNorm's bias with its weight (block norms and the final one alike).
#include <gtest/gtest.h>

#include "train/trainable.h"

namespace whet {
namespace {

TEST(FreezeNames, Gpt2sPositionsAndNormBiasesFollowTheirKind) {
  LlamaConfig model;
  model.family = "gpt2";
  model.num_layers = 4;
  model.tie_word_embeddings = true;
  TrainConfig config;
  config.method = TrainMethod::Freeze;
  const int first_block = 2;
  config.freeze_embeddings = true;
  config.train_norms = true;
  EXPECT_FALSE(freeze_trains(config, model, "position_embd.weight", first_block));
  EXPECT_TRUE(freeze_trains(config, model, "output_norm.bias", first_block));
  EXPECT_TRUE(freeze_trains(config, model, "blk.3.attn_norm.bias", first_block));
  EXPECT_FALSE(freeze_trains(config, model, "blk.1.attn_norm.bias", first_block));
  EXPECT_TRUE(freeze_trains(config, model, "blk.2.ffn_up.bias", first_block));

  config.freeze_embeddings = false;
  config.train_norms = false;
  EXPECT_TRUE(freeze_trains(config, model, "position_embd.weight", first_block));
  EXPECT_FALSE(freeze_trains(config, model, "output_norm.bias", first_block));
  EXPECT_FALSE(freeze_trains(config, model, "blk.3.ffn_norm.bias", first_block));
  EXPECT_TRUE(freeze_trains(config, model, "blk.3.attn_output.bias", first_block));
}

}  // namespace
}  // namespace whet
