#include "models/sequence_classifier.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/json_fields.h"
#include "kernels/quant.h"
#include "io/safetensors.h"

namespace whet {

int SequenceClassifier::label_index(const std::string& name) const {
  const auto it = std::find(labels.begin(), labels.end(), name);
  return it == labels.end() ? -1 : int(it - labels.begin());
}

ClassifierPass SequenceClassifier::pass(int32_t label, float* dweight, float* dbias) const {
  return ClassifierPass{weight.data(), bias.data(), int(labels.size()), pooling, dweight, dbias, label};
}

double reward_score(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                    std::span<const int32_t> ids, const SequenceClassifier& head) {
  WHET_ASSERT(head.scores());
  TrainPass pass;
  pass.lora = lora;
  return llama_score(model, pass, acts, ids, head.pass(), 0.0f);
}

SequenceClassifier make_sequence_classifier(std::vector<std::string> labels, Pooling pooling, int64_t hidden,
                                            uint64_t seed) {
  SequenceClassifier head;
  head.labels = std::move(labels);
  head.pooling = pooling;
  head.hidden = hidden;
  head.weight.resize(head.labels.size() * size_t(hidden));
  head.bias.assign(head.labels.size(), 0.0f);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (float& w : head.weight) w = normal(rng);
  return head;
}

void save_sequence_classifier(const SequenceClassifier& head, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const int64_t labels = int64_t(head.labels.size());
  write_safetensors(dir + "/classifier.safetensors",
                    {TensorView{"score.weight", DType::F32, {labels, head.hidden},
                                reinterpret_cast<const uint8_t*>(head.weight.data()), head.weight.size() * sizeof(float)},
                     TensorView{"score.bias", DType::F32, {labels}, reinterpret_cast<const uint8_t*>(head.bias.data()),
                                head.bias.size() * sizeof(float)}});
  const nlohmann::json config = {{"labels", head.labels},
                                 {"pooling", pooling_name(head.pooling)},
                                 {"hidden_size", head.hidden}};
  write_file_atomic(dir + "/classifier_config.json", config.dump(2) + "\n");
}

SequenceClassifier load_sequence_classifier(const std::string& dir, int64_t hidden) {
  const std::string config_path = dir + "/classifier_config.json";
  if (!std::filesystem::exists(config_path))
    fail(dir, "not a classification head: classifier_config.json is missing");
  const nlohmann::json root = read_json_object(config_path);
  const Fields f(config_path, root);
  SequenceClassifier head;
  for (size_t i = 0; i < f.array("labels").size(); ++i) {
    const nlohmann::json& label = root.at("labels")[i];
    if (!label.is_string() || label.get_ref<const std::string&>().empty())
      fail(config_path, "field 'labels[{}]' must be a non-empty string", i);
    head.labels.push_back(label.get<std::string>());
  }
  if (head.labels.empty()) fail(config_path, "field 'labels' needs two labels or more (a classifier) or one (a reward model)");
  const std::optional<Pooling> pooling = pooling_from_name(f.string("pooling"));
  if (!pooling) fail(config_path, "field 'pooling' is '{}': expected last or mean", f.string("pooling"));
  head.pooling = *pooling;
  head.hidden = f.positive_integer("hidden_size");
  if (head.hidden != hidden)
    fail(config_path, "field 'hidden_size' is {}, but the model's hidden size is {}", head.hidden, hidden);

  const std::string weights_path = dir + "/classifier.safetensors";
  const SafetensorsFile file = SafetensorsFile::open(weights_path);
  auto read = [&](const char* name, std::vector<int64_t> shape, std::vector<float>& out) {
    const TensorView* view = file.find_tensor(name);
    if (!view) fail(weights_path, "missing tensor '{}'", name);
    if (view->shape != shape)
      fail(weights_path, "tensor '{}' has shape [{}], expected [{}]", name, fmt::join(view->shape, ", "),
           fmt::join(shape, ", "));
    out.resize(size_t(view->numel()));
    dequantize(view->dtype, view->data, out.data(), view->numel());
  };
  const int64_t labels = int64_t(head.labels.size());
  read("score.weight", {labels, hidden}, head.weight);
  read("score.bias", {labels}, head.bias);
  return head;
}

}  // namespace whet
