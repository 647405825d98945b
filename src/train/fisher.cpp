#include "train/fisher.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/error.h"
#include "data/jsonl_reader.h"
#include "eval/builtin_files.h"
#include "io/safetensors.h"
#include "train/replay.h"

namespace whet {

namespace {

// The examples of a built-in corpus (`general`, or a built-in file's name) or of a JSONL file on disk.
std::vector<Example> general_examples(const std::string& source) {
  const std::string_view built_in = builtin_file(source == kBuiltinReplay ? kGeneralReplay : source);
  DataOptions options;
  options.strict = true;
  DataStats stats;
  if (built_in.empty()) return read_examples(source, options, stats);
  return read_examples_in_text(built_in, source, options, stats);
}

// Draws one index from softmax(logits) with u uniform in [0, 1).
int32_t sample_from_logits(std::span<const float> logits, double u) {
  const float top = *std::max_element(logits.begin(), logits.end());
  double total = 0.0;
  for (float l : logits) total += std::exp(double(l - top));
  double below = u * total;
  for (size_t i = 0; i < logits.size(); ++i) {
    below -= std::exp(double(logits[i] - top));
    if (below < 0.0) return int32_t(i);
  }
  return int32_t(logits.size() - 1);  // u·total rounded past the last term
}

// The exact Fisher's labels: at each position that has a target, a token drawn
// from the model's own prediction there.
std::vector<int32_t> sampled_targets(const LoadedModel& loaded, const TrainableState& state,
                                     const TrainingSequence& s, std::mt19937_64& rng) {
  const LlamaModel& model = loaded.model;
  KvCache cache(model.config, int64_t(s.ids.size()));
  std::vector<float> logits;
  llama_forward(model, cache, s.ids, logits, true, state.lora.get());
  const int64_t vocab = model.config.vocab_size;
  std::vector<int32_t> targets = s.targets;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i] < 0) continue;
    const double u = double(rng() >> 11) * 0x1.0p-53;
    targets[i] = sample_from_logits(std::span<const float>(logits).subspan(i * size_t(vocab), size_t(vocab)), u);
  }
  return targets;
}

std::string ewc_path(const TrainConfig& config) { return config.output_dir + "/ewc.safetensors"; }

}  // namespace

std::vector<TrainingSequence> fisher_sequences(const std::string& source, int samples, const LoadedModel& loaded,
                                               int sequence_len) {
  const ChatTemplate chat = loaded.chat_template ? *loaded.chat_template : ChatTemplate::by_name("alpaca");
  std::vector<TokenizedExample> tokenized;
  for (const Example& e : general_examples(source)) {
    if (int(tokenized.size()) == samples) break;
    tokenized.push_back(tokenize_example(e, loaded.tokenizer, chat, true));
  }
  DataOptions options;
  options.sequence_len = sequence_len;
  options.sample_packing = false;
  SequenceStats stats;
  std::vector<TrainingSequence> sequences = build_sequences(tokenized, options, stats);
  if (sequences.empty()) fail(source, "ewc_data: no example with a token to predict");
  return sequences;
}

std::vector<std::vector<float>> estimate_fisher(const LoadedModel& loaded, const TrainableState& state,
                                                std::span<const TrainingSequence> sequences, bool exact,
                                                uint64_t seed) {
  const std::vector<Parameter>& params = state.parameters;
  std::vector<std::vector<float>> fisher;
  for (const Parameter& p : params) fisher.emplace_back(size_t(p.numel), 0.0f);
  size_t longest = 0;
  for (const TrainingSequence& s : sequences) longest = std::max(longest, s.ids.size());
  LlamaActivations acts(loaded.model.config, int64_t(longest), state.lora ? state.lora->config.rank : 0);
  TrainPass pass = state.pass();
  pass.lora_dropout = 0.0f;
  std::mt19937_64 rng(seed);
  const float share = 1.0f / float(sequences.size());
  zero_grads(state);
  for (const TrainingSequence& s : sequences) {
    const std::vector<int32_t> targets = exact ? sampled_targets(loaded, state, s, rng) : s.targets;
    const auto counted = std::count_if(targets.begin(), targets.end(), [](int32_t t) { return t >= 0; });
    llama_forward_backward(loaded.model, pass, acts, {s.ids, targets, s.positions, s.segment_begin},
                           1.0f / float(counted));
    for (size_t k = 0; k < params.size(); ++k) {
      float* f = fisher[k].data();
      const float* g = params[k].grad;
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < params[k].numel; ++i) f[i] += share * g[i] * g[i];
    }
    zero_grads(state);
  }
  return fisher;
}

void save_ewc_file(const std::string& path, const AnchorPenalty& ewc, const std::map<std::string, std::string>& about) {
  std::vector<TensorView> views;
  auto add = [&](const std::string& name, const std::vector<float>& v) {
    views.push_back(TensorView{name, DType::F32, {int64_t(v.size())}, reinterpret_cast<const uint8_t*>(v.data()),
                               v.size() * sizeof(float)});
  };
  for (const auto& [name, anchor] : ewc.anchors) {
    add("fisher." + name, anchor.fisher);
    add("anchor." + name, anchor.value);
  }
  write_safetensors(path, views, about);
}

AnchorPenalty load_ewc_file(const std::string& path, const std::vector<Parameter>& parameters, double lambda) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  AnchorPenalty ewc{lambda, {}};
  auto read = [&](const std::string& name, int64_t numel) {
    const TensorView* t = file.find_tensor(name);
    if (!t) fail(path, "missing tensor '{}': the run trains it, so its Fisher and anchor must be here", name);
    if (t->dtype != DType::F32 || t->numel() != numel)
      fail(path, "tensor '{}' is {} with {} values, expected F32 with {}", name, dtype_name(t->dtype), t->numel(),
           numel);
    const float* data = reinterpret_cast<const float*>(t->data);
    return std::vector<float>(data, data + numel);
  };
  for (const Parameter& p : parameters)
    ewc.anchors[p.name] = Anchor{read("anchor." + p.name, p.numel), read("fisher." + p.name, p.numel)};
  return ewc;
}

AnchorPenalty ewc_penalty_for_run(const TrainConfig& config, const LoadedModel& loaded, const TrainableState& state,
                                  bool resume, const std::function<void(const std::string&)>& say) {
  if (config.ewc_lambda <= 0.0) return {};
  const std::string path = ewc_path(config);
  if (resume && std::filesystem::exists(path)) {
    say(fmt::format("EWC: Fisher and anchors read from {}", path));
    return load_ewc_file(path, state.parameters, config.ewc_lambda);
  }
  const std::vector<TrainingSequence> sequences =
      fisher_sequences(config.ewc_data, config.ewc_samples, loaded, config.sequence_len);
  const bool exact = config.ewc_fisher == "exact";
  std::vector<std::vector<float>> fisher =
      estimate_fisher(loaded, state, sequences, exact, uint64_t(config.seed));
  AnchorPenalty ewc{config.ewc_lambda, {}};
  for (size_t k = 0; k < state.parameters.size(); ++k) {
    const Parameter& p = state.parameters[k];
    ewc.anchors[p.name] = Anchor{std::vector<float>(p.value, p.value + p.numel), std::move(fisher[k])};
  }
  save_ewc_file(path, ewc,
                {{"fisher", config.ewc_fisher}, {"samples", std::to_string(sequences.size())}, {"data", config.ewc_data}});
  say(fmt::format("EWC: {} Fisher from {} sequences of {}, written to {}", config.ewc_fisher, sequences.size(),
                  config.ewc_data, path));
  return ewc;
}

}  // namespace whet
