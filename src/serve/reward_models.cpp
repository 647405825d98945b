#include "serve/reward_models.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "data/tokenize_preference.h"
#include "models/lora_files.h"
#include "serve/api_error.h"

namespace whet::serve {

namespace fs = std::filesystem;

void RewardModels::add(const std::string& spec, const LoadedModel& base) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
    fail("--reward-model", "'{}' must be NAME=DIR", spec);
  const std::string name = spec.substr(0, eq);
  if (has(name)) fail("--reward-model", "'{}' is given twice", name);
  add(name, spec.substr(eq + 1), base);
}

void RewardModels::add(const std::string& name, const std::string& dir, const LoadedModel& base) {
  auto m = std::make_shared<Model>();
  m->model = &base;
  if (fs::exists(dir + "/config.json")) {  // a full fine-tune: the model it trained
    m->own = std::make_unique<LoadedModel>(load_model(dir, WeightFormat::F32));
    m->model = m->own.get();
  } else if (fs::exists(dir + "/adapter_config.json")) {
    m->adapter = std::make_shared<LlamaLora>(load_lora_adapter(dir, base.model.config));
  }
  m->head = load_sequence_classifier(dir, m->model->model.config.hidden_size);
  if (!m->head.scores())
    fail(dir, "a classifier of {} labels ({}), not a reward model (one score): train one with --method reward",
         m->head.labels.size(), fmt::join(m->head.labels, ", "));
  const std::lock_guard lock(mutex_);
  models_[name] = std::move(m);
}

bool RewardModels::holds_reward_model(const std::string& dir) { return fs::exists(dir + "/classifier_config.json"); }

bool RewardModels::has(const std::string& name) const { return find(name) != nullptr; }

std::shared_ptr<RewardModels::Model> RewardModels::find(const std::string& name) const {
  const std::lock_guard lock(mutex_);
  const auto found = models_.find(name);
  return found == models_.end() ? nullptr : found->second;
}

std::vector<std::string> RewardModels::names() const {
  const std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, m] : models_) out.push_back(name);
  return out;
}

namespace {

// An answer after its prompt, as training tokenized it.
std::vector<int32_t> answer_tokens(const LoadedModel& model, const ScoreInput& input, const std::string& param) {
  if (input.prompt.chat() && !model.chat_template)
    throw invalid_request(fmt::format("'{}' is a conversation, but the reward model has no chat template", param), param);
  UnpairedExample example;
  example.file = param;
  example.prompt = input.prompt;
  example.completion = input.completion;
  const ChatTemplate chat = model.chat_template ? *model.chat_template : ChatTemplate::by_name("alpaca");
  try {
    const TokenizedUnpaired t = tokenize_unpaired(example, model.tokenizer, chat);
    std::vector<int32_t> ids = t.prompt;
    ids.insert(ids.end(), t.completion.begin(), t.completion.end());
    return ids;
  } catch (const Error& e) {
    throw invalid_request(e.what(), param);
  }
}

// Raw text alone: its tokens as training gives a raw answer after an empty
// prompt ([BOS] when the tokenizer adds one, the text, EOS), which needs no prompt token.
std::vector<int32_t> text_tokens(const LoadedModel& model, const std::string& text) {
  std::vector<int32_t> ids = model.tokenizer.encode(text, /*parse_special=*/false);
  if (model.tokenizer.spec().eos_id >= 0) ids.push_back(model.tokenizer.spec().eos_id);
  return ids;
}

std::vector<int32_t> input_tokens(const LoadedModel& model, const ScoreInput& input, const std::string& param) {
  const bool text_alone = !input.prompt.chat() && input.prompt.text.empty();
  std::vector<int32_t> ids = text_alone ? text_tokens(model, input.completion) : answer_tokens(model, input, param);
  const int64_t context = usable_context(model.model.config);
  if (int64_t(ids.size()) > context)
    throw invalid_request(fmt::format("'{}' is {} tokens, more than the model's context of {}", param, ids.size(),
                                      context), param, "context_length_exceeded");
  return ids;
}

}  // namespace

ScoreResult RewardModels::score(const ScoreRequest& request) const {
  const std::shared_ptr<Model> found = find(request.model);
  if (!found) {
    const std::vector<std::string> loaded = names();
    throw not_found(fmt::format("No reward model '{}' is loaded; loaded: {} (whet serve --reward-model NAME=DIR, "
                                "or a reward job)", request.model,
                                loaded.empty() ? "none" : fmt::format("{}", fmt::join(loaded, ", "))),
                    "model", "model_not_found");
  }
  Model& m = *found;
  std::vector<std::vector<int32_t>> ids;
  size_t longest = 1;
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    const std::string param = request.inputs.size() == 1 ? "input" : fmt::format("input[{}]", i);
    ids.push_back(input_tokens(*m.model, request.inputs[i], param));
    longest = std::max(longest, ids.back().size());
  }
  ScoreResult result;
  const std::lock_guard<std::mutex> lock(m.scoring);
  LlamaActivations acts(m.model->model.config, int64_t(longest), m.adapter ? m.adapter->config.rank : 0);
  for (const std::vector<int32_t>& tokens : ids) {
    result.scores.push_back(reward_score(m.model->model, m.adapter.get(), acts, tokens, m.head));
    result.tokens += int64_t(tokens.size());
  }
  return result;
}

}  // namespace whet::serve
