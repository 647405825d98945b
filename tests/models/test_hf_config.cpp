// Hugging Face config.json: real-world shapes (Llama 3.1 with llama3 rope scaling, SmolLM2 with
// tied embeddings), the errors for bad files, and write -> read round trips.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "core/error.h"
#include "models/llama_config.h"
#include "test_support.h"

namespace whet {
namespace {

using nlohmann::json;

// Written from the published Llama 3.1 8B configuration.
json llama31_config() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "bfloat16",
    "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8, "max_position_embeddings": 131072,
    "rope_theta": 500000.0, "rms_norm_eps": 1e-05, "hidden_act": "silu", "attention_bias": false,
    "mlp_bias": false, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"}
  })");
}

// Written from the published SmolLM2-135M-Instruct configuration.
json smollm2_config() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 49152, "hidden_size": 576,
    "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
    "max_position_embeddings": 8192, "rope_theta": 100000, "rms_norm_eps": 1e-05, "rope_scaling": null,
    "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu"
  })");
}

std::string write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

std::string write_config(const std::string& test_name, const json& config) {
  return write_text(test::scratch_dir(test_name) + "/config.json", config.dump(2));
}

// read_hf_config(path) must fail with a message that contains every part and the
// path of the faulty file (`faulty`, when that is not config.json itself).
void expect_config_error(const std::string& path, const std::vector<std::string>& parts,
                         const std::string& faulty = "") {
  try {
    read_hf_config(path);
    ADD_FAILURE() << "no error for " << path;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(faulty.empty() ? path : faulty), std::string::npos) << message;
    for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST(HfConfig, ReadsLlama31WithLlama3RopeScaling) {
  const LlamaConfig c = read_hf_config(write_config("hf_config_llama31", llama31_config()));
  EXPECT_EQ(c.family, "llama");
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 14336);
  EXPECT_EQ(c.num_layers, 32);
  EXPECT_EQ(c.num_heads, 32);
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.max_position_embeddings, 131072);
  EXPECT_EQ(c.rope_theta, 500000.0f);
  EXPECT_EQ(c.norm_eps, 1e-5f);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 128000);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int>{128001, 128008, 128009}));
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Llama3);
  EXPECT_EQ(c.rope_scaling.factor, 8.0f);
  EXPECT_EQ(c.rope_scaling.low_freq_factor, 1.0f);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 4.0f);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
}

TEST(HfConfig, ReadsSmolLM2WithTiedEmbeddings) {
  const LlamaConfig c = read_hf_config(write_config("hf_config_smollm2", smollm2_config()));
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_EQ(c.hidden_size, 576);
  EXPECT_EQ(c.num_layers, 30);
  EXPECT_EQ(c.num_heads, 9);
  EXPECT_EQ(c.num_kv_heads, 3);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.rope_theta, 100000.0f);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::None);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{2});
}

TEST(HfConfig, AppliesTransformersDefaults) {
  json config = smollm2_config();
  for (const char* key : {"num_key_value_heads", "max_position_embeddings", "rope_theta", "rms_norm_eps",
                          "tie_word_embeddings", "bos_token_id", "eos_token_id", "rope_scaling"})
    config.erase(key);
  const LlamaConfig c = read_hf_config(write_config("hf_config_defaults", config));
  EXPECT_EQ(c.num_kv_heads, 9);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_EQ(c.rope_theta, 10000.0f);
  EXPECT_EQ(c.norm_eps, 1e-6f);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, -1);
  EXPECT_TRUE(c.eos_token_ids.empty());
}

TEST(HfConfig, ExplicitHeadDimWins) {
  json config = smollm2_config();
  config["head_dim"] = 128;
  EXPECT_EQ(read_hf_config(write_config("hf_config_head_dim", config)).head_dim, 128);
}

TEST(HfConfig, MergesGenerationConfigEndTokens) {
  json config = llama31_config();
  config["eos_token_id"] = 128001;
  const std::string path = write_config("hf_config_generation", config);
  const std::string dir = std::filesystem::path(path).parent_path();
  write_text(dir + "/generation_config.json", R"({"bos_token_id": 128000, "eos_token_id": [128001, 128009]})");
  EXPECT_EQ(read_hf_config(path).eos_token_ids, (std::vector<int>{128001, 128009}));
  write_text(dir + "/generation_config.json", R"({"eos_token_id": 128008})");
  EXPECT_EQ(read_hf_config(path).eos_token_ids, (std::vector<int>{128001, 128008}));
  write_text(dir + "/generation_config.json", R"({"eos_token_id": "x"})");
  expect_config_error(path, {"'eos_token_id'"}, dir + "/generation_config.json");
}

TEST(HfConfig, ReadsLinearAndLegacyRopeScaling) {
  json config = smollm2_config();
  config["rope_scaling"] = {{"type", "linear"}, {"factor", 2}};
  const LlamaConfig c = read_hf_config(write_config("hf_config_linear", config));
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Linear);
  EXPECT_EQ(c.rope_scaling.factor, 2.0f);
}

TEST(HfConfig, ReadsTransformers5RopeParameters) {
  json config = llama31_config();
  config["rope_parameters"] = config["rope_scaling"];
  config["rope_parameters"]["rope_theta"] = 250000.0;
  config.erase("rope_scaling");
  config.erase("rope_theta");
  const LlamaConfig c = read_hf_config(write_config("hf_config_rope_parameters", config));
  EXPECT_EQ(c.rope_theta, 250000.0f);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Llama3);
  EXPECT_EQ(c.rope_scaling.factor, 8.0f);
}

TEST(HfConfig, MistralSlidingWindowFollowsTransformersDefaults) {
  json config = smollm2_config();
  config["architectures"] = {"MistralForCausalLM"};
  config["max_position_embeddings"] = 32768;
  config["sliding_window"] = 4096;
  LlamaConfig c = read_hf_config(write_config("hf_config_mistral", config));
  EXPECT_EQ(c.family, "mistral");
  EXPECT_EQ(c.sliding_window, 4096);
  EXPECT_TRUE(c.layer_is_sliding(0) && c.layer_is_sliding(c.num_layers - 1));
  EXPECT_EQ(c.max_position_embeddings, 32768);
  config["sliding_window"] = nullptr;
  EXPECT_EQ(read_hf_config(write_config("hf_config_mistral", config)).sliding_window, 0);
  config.erase("sliding_window");  // transformers' MistralConfig default
  EXPECT_EQ(read_hf_config(write_config("hf_config_mistral", config)).sliding_window, 4096);
}

TEST(HfConfig, FamiliesSetTheirBlockVariations) {
  json config = smollm2_config();
  config["architectures"] = {"Qwen2ForCausalLM"};
  LlamaConfig c = read_hf_config(write_config("hf_config_qwen2", config));
  EXPECT_EQ(c.family, "qwen2");
  EXPECT_TRUE(c.attention_bias);
  EXPECT_EQ(c.sliding_window, 0);  // use_sliding_window defaults to false
  config["use_sliding_window"] = true;
  config["sliding_window"] = 64;
  config["max_window_layers"] = 28;
  c = read_hf_config(write_config("hf_config_qwen2", config));
  EXPECT_FALSE(c.layer_is_sliding(27));
  EXPECT_TRUE(c.layer_is_sliding(28));

  config = smollm2_config();
  config["architectures"] = {"Gemma3ForCausalLM"};
  config["sliding_window"] = 512;
  config["query_pre_attn_scalar"] = 144;
  c = read_hf_config(write_config("hf_config_gemma3", config));
  EXPECT_EQ(c.family, "gemma3");
  EXPECT_TRUE(c.qk_norm && c.sandwich_norms && c.norm_weights_offset_by_one);
  EXPECT_EQ(c.activation, GateActivation::GeluTanh);
  EXPECT_FLOAT_EQ(c.embedding_scale, 24.0f);  // sqrt(576)
  EXPECT_FLOAT_EQ(c.query_scale, 1.0f / 12.0f);
  EXPECT_EQ(c.rope_local_theta, 10000.0f);
  // Without layer_types, every sixth layer is global: layers 5, 11, 17, ...
  for (int layer = 0; layer < c.num_layers; ++layer) EXPECT_EQ(c.layer_is_sliding(layer), layer % 6 != 5) << layer;
  // Gemma 3's own null caps are none; Gemma 2-style numbers are read; anything but a positive number is refused.
  EXPECT_EQ(c.attn_logit_softcap, 0.0f);
  EXPECT_EQ(c.final_logit_softcap, 0.0f);
  config["attn_logit_softcapping"] = nullptr;
  config["final_logit_softcapping"] = nullptr;
  c = read_hf_config(write_config("hf_config_gemma3", config));
  EXPECT_EQ(c.attn_logit_softcap, 0.0f);
  EXPECT_EQ(c.final_logit_softcap, 0.0f);
  config["attn_logit_softcapping"] = 50.0;
  config["final_logit_softcapping"] = 30.0;
  c = read_hf_config(write_config("hf_config_gemma3", config));
  EXPECT_EQ(c.attn_logit_softcap, 50.0f);
  EXPECT_EQ(c.final_logit_softcap, 30.0f);
  config["final_logit_softcapping"] = -30.0;
  expect_config_error(write_config("hf_config_gemma3", config), {"final_logit_softcapping", "positive"});
  config["final_logit_softcapping"] = 30.0;
  config["attn_logit_softcapping"] = "50";
  expect_config_error(write_config("hf_config_gemma3", config), {"attn_logit_softcapping", "a number"});
  config.erase("attn_logit_softcapping");
  config.erase("final_logit_softcapping");
  config["layer_types"] = {"sliding_attention", "full_attention"};
  expect_config_error(write_config("hf_config_gemma3", config), {"layer_types", "2 entries"});
}

// Phi-3 128k's longrope: factors per rotated pair, the original context as a
// top-level field, the attention factor implied by the stretch (32x here).
TEST(HfConfig, Phi3LongropeIsReadAndItsFactorsChecked) {
  json config = smollm2_config();  // head_dim 64: 32 factors
  config["architectures"] = {"Phi3ForCausalLM"};
  config["max_position_embeddings"] = 131072;
  config["original_max_position_embeddings"] = 4096;
  config["rope_scaling"] = {{"type", "longrope"},
                            {"short_factor", std::vector<double>(32, 1.0)},
                            {"long_factor", std::vector<double>(32, 2.5)}};
  LlamaConfig c = read_hf_config(write_config("hf_config_phi3", config));
  EXPECT_EQ(c.family, "phi3");
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::LongRope);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 4096);
  EXPECT_NEAR(c.rope_scaling.attention_factor, std::sqrt(1.0 + std::log(32.0) / std::log(4096.0)), 1e-6);
  EXPECT_TRUE(uses_long_rope_factors(c));  // Whet's context of 8192 exceeds the original 4096
  EXPECT_EQ(c.rope_scaling.long_factors, std::vector<float>(32, 2.5f));
  config["rope_scaling"]["long_factor"] = std::vector<double>(31, 2.5);
  expect_config_error(write_config("hf_config_phi3", config), {"rope_scaling.long_factor", "31 factors, expected 32"});
  config["rope_scaling"]["long_factor"] = std::vector<double>(32, 2.5);
  config["partial_rotary_factor"] = 0.75;
  expect_config_error(write_config("hf_config_phi3", config), {"partial_rotary_factor", "not supported"});
}

TEST(HfConfig, MissingFieldIsNamed) {
  json config = llama31_config();
  config.erase("hidden_size");
  const std::string path = write_config("hf_config_missing", config);
  try {
    read_hf_config(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "[" + path + "] missing field 'hidden_size'");
  }
  config = llama31_config();
  config["rope_scaling"].erase("low_freq_factor");
  expect_config_error(write_config("hf_config_missing", config), {"missing field 'rope_scaling.low_freq_factor'"});
  config = llama31_config();
  config.erase("architectures");
  expect_config_error(write_config("hf_config_missing", config), {"missing field 'architectures'"});
}

TEST(HfConfig, WrongTypesAreNamed) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"hidden_size", "4096"},          {"num_hidden_layers", 32.5},     {"vocab_size", -3},
      {"num_attention_heads", 1e12},    {"tie_word_embeddings", "yes"},  {"rope_theta", "big"},
      {"eos_token_id", {1, "two"}},     {"bos_token_id", json::object()}, {"rope_scaling", "llama3"},
      {"architectures", "LlamaForCausalLM"}, {"num_key_value_heads", 0},
  };
  for (const auto& [field, value] : cases) {
    SCOPED_TRACE(field);
    json config = llama31_config();
    config[field] = value;
    expect_config_error(write_config("hf_config_types", config), {"'" + field + "'"});
  }
  json config = llama31_config();
  config["rope_scaling"]["factor"] = "8";
  expect_config_error(write_config("hf_config_types", config), {"'rope_scaling.factor'", "number"});
}

TEST(HfConfig, InconsistentShapesAreErrors) {
  json config = llama31_config();
  config["num_key_value_heads"] = 5;
  expect_config_error(write_config("hf_config_shapes", config), {"num_key_value_heads"});
  config = llama31_config();
  config["num_attention_heads"] = 30;
  config["num_key_value_heads"] = 30;
  expect_config_error(write_config("hf_config_shapes", config), {"hidden_size", "head_dim"});
}

TEST(HfConfig, UnsupportedModelsAreRefused) {
  json config = llama31_config();
  config["architectures"] = {"FalconForCausalLM"};
  expect_config_error(write_config("hf_config_arch", config), {"FalconForCausalLM", "LlamaForCausalLM", "Qwen2ForCausalLM",
                                                               "Gemma3ForCausalLM", "Phi3ForCausalLM"});
  config = llama31_config();
  config["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  expect_config_error(write_config("hf_config_arch", config), {"'yarn'", "rope_scaling.rope_type"});
  config = llama31_config();
  config["attention_bias"] = true;
  expect_config_error(write_config("hf_config_arch", config), {"attention_bias"});
  config = llama31_config();
  config["hidden_act"] = "gelu";
  expect_config_error(write_config("hf_config_arch", config), {"'gelu'"});
}

TEST(HfConfig, MalformedJsonNamesFileAndPosition) {
  const std::string path = write_text(test::scratch_dir("hf_config_malformed") + "/config.json",
                                      "{\n  \"hidden_size\": 576,\n  \"vocab_size\": ,\n}");
  expect_config_error(path, {"line 3"});
  expect_config_error(write_text(path, "[1, 2]"), {"object"});
  expect_config_error(write_text(path, ""), {"JSON"});
  const std::string missing = test::scratch_dir("hf_config_absent") + "/config.json";
  expect_config_error(missing, {});
}

void expect_same_config(const LlamaConfig& a, const LlamaConfig& b) {
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.intermediate_size, b.intermediate_size);
  EXPECT_EQ(a.num_layers, b.num_layers);
  EXPECT_EQ(a.num_heads, b.num_heads);
  EXPECT_EQ(a.num_kv_heads, b.num_kv_heads);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.max_position_embeddings, b.max_position_embeddings);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.rope_scaling.type, b.rope_scaling.type);
  EXPECT_EQ(a.rope_scaling.factor, b.rope_scaling.factor);
  EXPECT_EQ(a.rope_scaling.low_freq_factor, b.rope_scaling.low_freq_factor);
  EXPECT_EQ(a.rope_scaling.high_freq_factor, b.rope_scaling.high_freq_factor);
  EXPECT_EQ(a.rope_scaling.original_max_position_embeddings, b.rope_scaling.original_max_position_embeddings);
  EXPECT_EQ(a.norm_eps, b.norm_eps);
  EXPECT_EQ(a.tie_word_embeddings, b.tie_word_embeddings);
  EXPECT_EQ(a.bos_token_id, b.bos_token_id);
  EXPECT_EQ(a.eos_token_ids, b.eos_token_ids);
}

TEST(HfConfig, WriteThenReadRoundTrips) {
  const std::string dir = test::scratch_dir("hf_config_round_trip");
  for (const json& source : {llama31_config(), smollm2_config()}) {
    const LlamaConfig original = read_hf_config(write_text(dir + "/source.json", source.dump()));
    write_hf_config(dir + "/config.json", original);
    expect_same_config(read_hf_config(dir + "/config.json"), original);
  }
  LlamaConfig linear = read_hf_config(dir + "/source.json");
  linear.rope_scaling = {RopeScalingType::Linear, 4.0f};
  linear.bos_token_id = -1;
  linear.eos_token_ids.clear();
  write_hf_config(dir + "/config.json", linear);
  expect_same_config(read_hf_config(dir + "/config.json"), linear);
}

TEST(HfConfig, WritesWhatTransformersExpects) {
  const std::string dir = test::scratch_dir("hf_config_written");
  write_hf_config(dir + "/config.json", read_hf_config(write_text(dir + "/source.json", llama31_config().dump())));
  std::ifstream in(dir + "/config.json");
  const json written = json::parse(in);
  EXPECT_EQ(written["architectures"], json::array({"LlamaForCausalLM"}));
  EXPECT_EQ(written["model_type"], "llama");
  EXPECT_EQ(written["hidden_act"], "silu");
  EXPECT_EQ(written["attention_bias"], false);
  EXPECT_EQ(written["mlp_bias"], false);
  EXPECT_TRUE(written["torch_dtype"].is_string());
  EXPECT_EQ(written["rms_norm_eps"].get<double>(), 1e-5);  // the decimal, not the float's binary value
  EXPECT_EQ(written["rope_theta"].get<double>(), 500000.0);
  EXPECT_EQ(written["rope_scaling"]["rope_type"], "llama3");
  EXPECT_EQ(written["eos_token_id"], json::array({128001, 128008, 128009}));
  EXPECT_EQ(written["bos_token_id"], 128000);
}

// Written from the published openai-community/gpt2 configuration: GPT-2's own field
// names, n_inner null (4 * n_embd), no tie_word_embeddings (GPT2Config ties by default).
json gpt2_config() {
  return json::parse(R"({
    "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
    "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12,
    "n_inner": null, "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1, "vocab_size": 50257
  })");
}

TEST(HfConfig, ReadsGpt2sOwnFieldNames) {
  const LlamaConfig c = read_hf_config(write_config("hf_config_gpt2", gpt2_config()));
  EXPECT_EQ(c.family, "gpt2");
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.intermediate_size, 3072);
  EXPECT_EQ(c.num_layers, 12);
  EXPECT_EQ(c.num_heads, 12);
  EXPECT_EQ(c.num_kv_heads, 12);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.max_position_embeddings, 1024);
  EXPECT_EQ(c.norm_eps, 1e-5f);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.norm, NormKind::Layer);
  EXPECT_TRUE(c.learned_positions && c.attention_bias && c.projection_bias);
  EXPECT_FALSE(c.gated_mlp);
  EXPECT_EQ(c.activation, GateActivation::GeluTanh);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{50256});

  json given = gpt2_config();
  given["n_inner"] = 1000;
  given["tie_word_embeddings"] = false;
  const LlamaConfig inner = read_hf_config(write_config("hf_config_gpt2_inner", given));
  EXPECT_EQ(inner.intermediate_size, 1000);
  EXPECT_FALSE(inner.tie_word_embeddings);
}

// Errors name GPT-2's fields, not the common names they stand for.
TEST(HfConfig, Gpt2ErrorsNameItsOwnFields) {
  json missing = gpt2_config();
  missing.erase("n_embd");
  expect_config_error(write_config("hf_config_gpt2_missing", missing), {"n_embd"});
  json relu = gpt2_config();
  relu["activation_function"] = "relu";
  expect_config_error(write_config("hf_config_gpt2_relu", relu), {"activation_function", "relu", "gelu_new"});
  json by_layer = gpt2_config();
  by_layer["scale_attn_by_inverse_layer_idx"] = true;
  expect_config_error(write_config("hf_config_gpt2_by_layer", by_layer), {"scale_attn_by_inverse_layer_idx"});
}

// Written back in GPT2Config's names, with none of the Llama fields it does not have.
TEST(HfConfig, Gpt2WritesItsOwnNamesAndRoundTrips) {
  const std::string dir = test::scratch_dir("hf_config_gpt2_round_trip");
  const LlamaConfig original = read_hf_config(write_text(dir + "/source.json", gpt2_config().dump()));
  write_hf_config(dir + "/config.json", original);
  const LlamaConfig back = read_hf_config(dir + "/config.json");
  expect_same_config(back, original);
  EXPECT_EQ(back.norm, NormKind::Layer);
  std::ifstream in(dir + "/config.json");
  const json written = json::parse(in);
  EXPECT_EQ(written["architectures"], json::array({"GPT2LMHeadModel"}));
  EXPECT_EQ(written["model_type"], "gpt2");
  EXPECT_EQ(written["n_embd"], 768);
  EXPECT_EQ(written["n_inner"], 3072);
  EXPECT_EQ(written["layer_norm_epsilon"].get<double>(), 1e-5);
  EXPECT_EQ(written["activation_function"], "gelu_new");
  for (const char* absent : {"hidden_size", "num_key_value_heads", "rope_theta", "rope_scaling", "rms_norm_eps"})
    EXPECT_FALSE(written.contains(absent)) << absent;
}

}  // namespace
}  // namespace whet
