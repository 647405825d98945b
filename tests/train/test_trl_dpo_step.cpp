// One DPO step against Hugging Face TRL's DPOTrainer itself (PyPI torch 2.x,
// tests/python/make_trl_dpo_reference.py): on each tiny model, the pair of
// make_preference_gradients.py and the random LoRA adapter, Whet's
// reference_logps + preference_backward against TRL's training_step with the
// adapter disabled as its reference, for the sigmoid (cDPO), robust, hinge and
// IPO losses and sigmoid with RPO's NLL term.
//
// Compared, all to 1e-5:
//   the loss and TRL's logged rewards/chosen, rewards/rejected (absolute, or
//   relative where the value is above 1);
//   the policy's and the reference's answer log-probs, relative to their size
//   (sums over 5 to 8 tokens, down to about -45: an absolute 1e-5 would ask float32
//   for 2 more digits than it has);
//   every LoRA A and B gradient as max|whet - trl| / max|trl| per tensor (the
//   bar of gradient_checks.h, tightened from 1e-4).
// TRL runs in float64, so what is measured is Whet's float32 error: at most
// 1.8e-6 here (the "[ measured ]" line); a β off by 1e-4 relative already fails
// it, and a wrong sign, scale, token or masked position is far above. The
// reference script picks β for hinge and IPO away from their kinks and minima,
// where a tiny slope would magnify float32's error of the log-probs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gradient_checks.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "test_support.h"
#include "train/preference_step.h"

namespace whet {
namespace {

constexpr double kTolerance = 1e-5;

// TRL's settings of one case as Whet's config says them.
PreferenceObjective objective_of(const nlohmann::json& c) {
  TrainConfig config;
  config.rl = "dpo";
  config.dpo_loss_type = c.at("loss_type").get<std::string>();
  config.rl_beta = c.at("beta");
  config.dpo_label_smoothing = c.at("label_smoothing");
  config.rpo_alpha = c.at("rpo_alpha").is_null() ? 0.0 : c.at("rpo_alpha").get<double>();
  return preference_objective(config);
}

// The largest error seen, relative to its bar's scale, for the "[ measured ]" line.
struct Worst {
  double value = 0, gradient = 0;
};

void expect_within(Worst& worst, const char* what, double got, double want, double scale) {
  EXPECT_LE(std::abs(got - want), kTolerance * scale) << what << ": whet " << got << ", trl " << want;
  worst.value = std::max(worst.value, std::abs(got - want) / scale);
}

// Per-tensor relative error of the gradients, at most kTolerance.
void expect_lora_grads_within(Worst& worst, LlamaLora& grads, const std::string& path, int layers) {
  const SafetensorsFile want = SafetensorsFile::open(path);
  int checked = 0;
  for_each_lora_tensor(grads, [&](const std::string& name, std::vector<float>& g, int64_t, int64_t) {
    const TensorView* ref = want.find_tensor(name);
    ASSERT_NE(ref, nullptr) << name << " is not in " << path;
    ASSERT_EQ(size_t(ref->numel()), g.size()) << name;
    std::vector<float> r(g.size());
    dequantize(ref->dtype, ref->data, r.data(), ref->numel());
    double max_ref = 0, max_err = 0;
    for (size_t i = 0; i < r.size(); ++i) {
      max_ref = std::max(max_ref, double(std::abs(r[i])));
      max_err = std::max(max_err, double(std::abs(g[i] - r[i])));
    }
    ASSERT_GT(max_ref, 0.0) << name << ": TRL's gradient is zero, so the comparison would prove nothing";
    EXPECT_LE(max_err / max_ref, kTolerance) << name << " (max |grad| " << max_ref << ")";
    worst.gradient = std::max(worst.gradient, max_err / max_ref);
    ++checked;
  });
  EXPECT_EQ(checked, 2 * 4 * layers);
}

TEST(TrlDpoStep, LossRewardsAndLoraGradientsMatchTrl) {
  Worst worst;
  std::string trl_version;
  for (const char* variant : {"gqa_tied", "untied_llama3", "mha_linear_sharded"}) {
    const std::string dir = test::testdata_path(std::string("tiny/") + variant);
    WHET_REQUIRE_FILE(dir + "/trl_dpo/sigmoid.json",
                      "tests/python/make_references.sh with scripts/setup_trl_venv.sh's virtualenv");
    const LoadedModel loaded = load_model(dir + "/hf");
    const nlohmann::json pair_json = nlohmann::json::parse(std::ifstream(dir + "/preference/pair.json"));
    const std::vector<PreferenceSequences> pairs = {
        {test::read_training_sequence(pair_json.at("chosen")), test::read_training_sequence(pair_json.at("rejected"))}};
    LlamaActivations acts(loaded.model.config, 32, 4);
    const std::vector<ReferencedPair> referenced = reference_logps(loaded.model, acts, pairs);
    for (const char* kind : {"sigmoid", "robust", "hinge", "ipo", "rpo"}) {
      SCOPED_TRACE(std::string(variant) + " " + kind);
      const nlohmann::json trl = nlohmann::json::parse(std::ifstream(dir + "/trl_dpo/" + kind + ".json"));
      trl_version = trl.at("trl").get<std::string>();
      // IPO's log-probs are TRL's means over the answer's tokens; the others are sums.
      const bool per_token = trl.at("loss_type") == "ipo";
      const double n_chosen = per_token ? trl.at("chosen_tokens").get<double>() : 1.0;
      const double n_rejected = per_token ? trl.at("rejected_tokens").get<double>() : 1.0;
      auto near_logp = [&](const char* what, double whet_sum, double n, const char* key) {
        const double want = trl.at(key).get<double>();
        expect_within(worst, what, whet_sum / n, want, std::max(1.0, std::abs(want)));
      };
      near_logp("reference chosen", referenced[0].ref_chosen, n_chosen, "ref_logps_chosen");
      near_logp("reference rejected", referenced[0].ref_rejected, n_rejected, "ref_logps_rejected");

      LlamaLora lora = load_peft_adapter(dir + "/gradients/lora", loaded.model.config);
      LlamaLora lora_grads = zeros_like(lora);
      TrainPass pass;
      pass.lora = &lora;
      pass.lora_grads = &lora_grads;
      const PreferenceMetrics m = preference_backward(loaded.model, pass, acts, referenced, objective_of(trl));
      near_logp("policy chosen", m.logp_chosen, n_chosen, "logps_chosen");
      near_logp("policy rejected", m.logp_rejected, n_rejected, "logps_rejected");
      for (const auto& [what, got, key] : {std::tuple{"loss", m.loss, "loss"},
                                           std::tuple{"rewards/chosen", m.reward_chosen, "rewards_chosen"},
                                           std::tuple{"rewards/rejected", m.reward_rejected, "rewards_rejected"}}) {
        const double want = trl.at(key).get<double>();
        expect_within(worst, what, got, want, std::max(1.0, std::abs(want)));
      }
      expect_lora_grads_within(worst, lora_grads, dir + "/trl_dpo/" + std::string(kind) + ".safetensors",
                               loaded.model.config.num_layers);
    }
  }
  std::printf("[ measured ] whet vs TRL %s: worst relative error %.2g (loss, rewards, log-probs), %.2g (LoRA gradients)\n",
              trl_version.c_str(), worst.value, worst.gradient);
}

}  // namespace
}  // namespace whet
