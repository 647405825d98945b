#include "train/trainable.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/error.h"
#include "kernels/linear.h"
#include "models/llama_block.h"
#include "models/lora_peft.h"

namespace whet {

namespace {

LoraConfig lora_config(const TrainConfig& c) {
  WHET_ASSERT(c.lora_r > 0 && c.lora_alpha > 0 && !c.lora_target_modules.empty());  // decided, not auto
  LoraConfig l;
  l.rank = c.lora_r;
  l.alpha = float(c.lora_alpha);
  l.dropout = float(c.lora_dropout);
  l.rslora = c.use_rslora;
  l.targets.clear();
  for (const std::string& name : c.lora_target_modules) l.targets.push_back(*projection_from_name(name));
  return l;
}

}  // namespace

int block_of(const std::string& name) {
  int block = -1;
  return std::sscanf(name.c_str(), "blk.%d.", &block) == 1 ? block : -1;
}

void own_trainable_weights(LoadedModel& loaded) {
  LlamaModel& m = loaded.model;
  for_each_weight(m.weights, m.config, [](const std::string&, Weight& w) {
    if (!w.storage || w.dtype != DType::F32) w = convert_weight(w, DType::F32);
  });
  if (m.config.tie_word_embeddings) m.weights.lm_head = m.weights.embed;
}

TrainPass TrainableState::pass() const {
  TrainPass p;
  p.lora = lora.get();
  p.lora_grads = lora_grads.get();
  p.grads = grads.get();
  p.lora_dropout = lora ? lora->config.dropout : 0.0f;
  p.bf16_products = bf16_products;
  return p;
}

int initial_first_trainable_block(const TrainConfig& config, const LlamaConfig& model) {
  if (config.method != TrainMethod::Freeze) return 0;
  const int first = config.freeze_first_n_blocks >= 0 ? config.freeze_first_n_blocks
                                                      : model.num_layers - config.train_last_n_blocks;
  if (first < 0 || first > model.num_layers)
    fail("train", "the model has {} blocks: freeze_first_n_blocks / train_last_n_blocks leave {} frozen",
         model.num_layers, first);
  return first;
}

int first_trainable_block_at(const TrainConfig& config, const LlamaConfig& model, int64_t step, int64_t epoch) {
  const int first = initial_first_trainable_block(config, model);
  int64_t released = 0;
  if (config.gradual_unfreeze_every_steps > 0) released = step / config.gradual_unfreeze_every_steps;
  if (config.gradual_unfreeze_every_epoch) released = epoch;
  return int(std::max<int64_t>(0, first - released));
}

bool freeze_trains(const TrainConfig& config, const LlamaConfig& model, const std::string& name, int first_block) {
  if (name == "token_embd.weight")
    return !config.freeze_embeddings || (model.tie_word_embeddings && config.train_lm_head);
  if (name == "position_embd.weight") return !config.freeze_embeddings;  // GPT-2's learned positions
  if (name == "output.weight") return config.train_lm_head;
  const bool norm = name.ends_with("norm.weight") || name.ends_with("norm.bias");  // LayerNorm's bias with its weight
  if (name.starts_with("output_norm.")) return config.train_norms;
  if (block_of(name) < first_block) return false;
  return !norm || config.train_norms;
}

namespace {

void add_classifier(TrainableState& s, ClassifierTraining* classifier) {
  s.classifier = classifier;
  if (!classifier) return;
  SequenceClassifier& head = classifier->head;
  s.parameters.push_back(Parameter{"score.weight", head.weight.data(), classifier->dweight.data(),
                                   int64_t(head.weight.size()), true});
  s.parameters.push_back(Parameter{"score.bias", head.bias.data(), classifier->dbias.data(),
                                   int64_t(head.bias.size()), false});
}

}  // namespace

namespace {

// full / freeze with weights bf16: a copy of the model whose matrices are bf16,
// and each trained matrix's parameter pointed at its copy.
void make_compute_copy(const LlamaModel& masters, TrainableState& s) {
  s.compute = std::make_unique<LlamaModel>(masters);
  for_each_weight(s.compute->weights, masters.config, [](const std::string&, Weight& w) {
    if (w.rows > 1) w = convert_weight(w, DType::BF16);
  });
  if (masters.config.tie_word_embeddings) s.compute->weights.lm_head = s.compute->weights.embed;
  std::unordered_map<const float*, uint16_t*> copy_of;
  std::vector<const float*> master_data;
  for_each_weight(masters.weights, masters.config,
                  [&](const std::string&, const Weight& w) { master_data.push_back(reinterpret_cast<const float*>(w.data)); });
  size_t i = 0;
  for_each_weight(s.compute->weights, masters.config, [&](const std::string&, Weight& w) {
    // The copy's own memory, made above by convert_weight: written from here on with its master.
    if (w.dtype == DType::BF16) copy_of[master_data[i]] = reinterpret_cast<uint16_t*>(const_cast<uint8_t*>(w.data));
    ++i;
  });
  for (Parameter& p : s.parameters)
    if (const auto it = copy_of.find(p.value); it != copy_of.end()) p.bf16_copy = it->second;
}

// A LoRA base that multiplies in bf16 does not change while the adapter trains:
// its input gradients' operands are laid out once, here, for the whole run. The
// embedding's rows are looked up, not multiplied; the head (tied or not) is.
void pack_frozen_base(LlamaModel& model) {
  for_each_weight(model.weights, model.config, [](const std::string& name, Weight& w) {
    if (name != "token_embd.weight" && name != "output.weight") pack_for_input_gradients(w);
  });
  pack_for_input_gradients(model.weights.lm_head);
}

}  // namespace

TrainableState make_trainable(LoadedModel& loaded, const TrainConfig& config, int first_block,
                              ClassifierTraining* classifier) {
  TrainableState s;
  s.bf16_products = !aligns(config);
  const LlamaConfig& c = loaded.model.config;
  if (config.method == TrainMethod::Lora) {
    s.lora = std::make_unique<LlamaLora>(config.lora_model_dir.empty()
                                             ? make_lora(c, lora_config(config), uint64_t(config.seed))
                                             : load_peft_adapter(config.lora_model_dir, c));
    s.lora_grads = std::make_unique<LlamaLora>(zeros_like(*s.lora));
    std::vector<float*> grads;
    for_each_lora_tensor(*s.lora_grads, [&](const std::string&, std::vector<float>& g, int64_t, int64_t) {
      grads.push_back(g.data());
    });
    size_t i = 0;
    for_each_lora_tensor(*s.lora, [&](const std::string& name, std::vector<float>& v, int64_t, int64_t) {
      s.parameters.push_back(Parameter{name, v.data(), grads[i++], int64_t(v.size()), true});
    });
    if (packs_frozen_base(config)) pack_frozen_base(loaded.model);
    add_classifier(s, classifier);
    return s;
  }
  auto trains = [&](const std::string& name) {
    if (classifier && name == "output.weight") return false;  // the LM head is not used
    return config.method == TrainMethod::Full || freeze_trains(config, c, name, first_block);
  };
  s.grads = std::make_unique<LlamaWeights>(make_gradients(loaded.model, trains));
  std::vector<float*> grads;
  for_each_weight(*s.grads, c, [&](const std::string&, Weight& g) { grads.push_back(grad_data(g)); });
  size_t i = 0;
  for_each_weight(loaded.model.weights, c, [&](const std::string& name, Weight& w) {
    float* grad = grads[i++];
    if (!grad) return;
    WHET_ASSERT(w.dtype == DType::F32 && w.storage);
    // Norm weights are vectors; like Hugging Face's Trainer, they get no weight decay.
    s.parameters.push_back(Parameter{name, grad_data(w), grad, w.numel(), w.rows > 1});
  });
  if (s.parameters.empty()) s.grads.reset();  // a frozen base: no backward through it
  if (s.grads && multiplies_bf16_copy(config)) make_compute_copy(loaded.model, s);
  add_classifier(s, classifier);
  if (s.parameters.empty()) fail("train", "nothing trains: every weight is frozen by this configuration");
  return s;
}


bool multiplies_bf16_copy(const TrainConfig& config) {
  return config.method != TrainMethod::Lora && config.weights == "bf16" && !aligns(config);
}

bool packs_frozen_base(const TrainConfig& config) {
  return config.method == TrainMethod::Lora && config.weights == "bf16" && !aligns(config) && cpu_has_bf16_units();
}

const LlamaModel& compute_model(const TrainableState& state, const LlamaModel& masters) {
  return state.compute ? *state.compute : masters;
}

void zero_grads(const TrainableState& state) {
  for (const Parameter& p : state.parameters) std::memset(p.grad, 0, sizeof(float) * p.numel);
}

}  // namespace whet
