// Logits of the forward pass against the independent PyTorch reference
// (tests/python/llama_reference.py, itself held to transformers and llama.cpp by
// check_family_references.py), on tiny random models of each family (Llama,
// Qwen2, Mistral with a window of 4 on sequences up to 32, Gemma 3, Phi-3, GPT-2) written as
// Hugging Face directories and GGUF files by tests/python/make_tiny_models.py,
// and on the real default model through the float32 directory `whet convert` wrote.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/safetensors.h"
#include "models/reference_logits.h"
#include "test_support.h"

namespace whet {
namespace {

using test::expect_logits_match;
using test::read_reference;

struct TinyCase {
  std::string variant, file;
  WeightFormat weights;
  float tolerance;
};

// Names the case in test listings (gtest would otherwise print its bytes).
void PrintTo(const TinyCase& c, std::ostream* os) {
  *os << c.variant << "/" << c.file << "/" << weight_format_name(c.weights);
}

std::string case_name(const testing::TestParamInfo<TinyCase>& info) {
  std::string file = info.param.file;
  for (char& c : file)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return info.param.variant + "_" + file + "_" + std::string(weight_format_name(info.param.weights));
}

class TinyLlamaParity : public testing::TestWithParam<TinyCase> {};

TEST_P(TinyLlamaParity, LogitsMatchPyTorch) {
  const TinyCase& c = GetParam();
  const std::string dir = test::testdata_path("tiny/" + c.variant);
  const LoadedModel loaded = load_model(dir + "/" + c.file, c.weights);
  expect_logits_match(loaded, read_reference(dir), c.tolerance, std::max(c.tolerance, test::kHalfCacheTolerance));
}

// fp32 and decoded-fp16 weights hold exactly the reference's values, so only
// summation order differs: 1e-4 is the bar. bf16 weights round every matrix
// and activation to 8 bits of mantissa, which moves these logits (of order 1-5)
// by a few hundredths; 0.1 still catches any wiring error, which moves them by whole units.
std::vector<TinyCase> tiny_cases() {
  std::vector<TinyCase> cases;
  for (const char* variant :
       {"gqa_tied", "untied_llama3", "mha_linear_sharded", "qwen2_bias", "mistral_window", "gemma3_sandwich",
        "phi3_longrope", "gpt2_tiny", "gemma3_softcap"}) {
    for (const char* file : {"hf", "model-f32.gguf", "model-f16.gguf"}) {
      cases.push_back({variant, file, WeightFormat::Native, 1e-4f});
      cases.push_back({variant, file, WeightFormat::F32, 1e-4f});
    }
    cases.push_back({variant, "hf", WeightFormat::BF16, 0.1f});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Models, TinyLlamaParity, testing::ValuesIn(tiny_cases()), case_name);

// openai-community/gpt2 was saved from GPT2Model: its tensors have no "transformer."
// prefix (h.0.ln_1.weight, wte.weight). The same tiny model written that way gives
// the same logits.
// The tiny GPT-2's Hugging Face directory copied to `name` with its tensors passed
// through `edit` (which returns false to leave one out).
template <typename Edit>
std::string edited_gpt2_dir(const std::string& name, const Edit& edit) {
  namespace fs = std::filesystem;
  const std::string dir = test::testdata_path("tiny/gpt2_tiny/hf");
  const std::string out = test::scratch_dir(name);
  for (const char* file : {"config.json", "tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(dir + "/" + file, out + "/" + file, fs::copy_options::overwrite_existing);
  const SafetensorsFile source = SafetensorsFile::open(dir + "/model.safetensors");
  std::vector<TensorView> kept;
  for (TensorView t : source.tensors)
    if (edit(t)) kept.push_back(t);
  write_safetensors(out + "/model.safetensors", kept, {{"format", "pt"}});
  return out;
}

TEST(TinyGpt2, CheckpointOfTheBaseModelLoads) {
  const std::string out = edited_gpt2_dir("gpt2_base_model_names", [](TensorView& t) {
    EXPECT_EQ(t.name.rfind("transformer.", 0), 0u) << t.name;
    t.name = t.name.substr(std::string("transformer.").size());
    return true;
  });
  expect_logits_match(load_model(out), read_reference(test::testdata_path("tiny/gpt2_tiny")), 1e-4f,
                      test::kHalfCacheTolerance);
}

// A missing fused tensor is named as the file would hold it; a Conv1D matrix
// stored [out, in] (a converter that transposed it already) is named with the
// shape expected.
TEST(TinyGpt2, MissingOrMisshapenTensorsAreNamed) {
  const std::string missing = edited_gpt2_dir("gpt2_missing_c_attn", [](TensorView& t) {
    return t.name != "transformer.h.1.attn.c_attn.weight";
  });
  try {
    load_model(missing);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'transformer.h.1.attn.c_attn.weight' of 192 rows"), std::string::npos)
        << e.what();
  }
  const std::string flipped = edited_gpt2_dir("gpt2_flipped_c_fc", [](TensorView& t) {
    if (t.name == "transformer.h.0.mlp.c_fc.weight") std::swap(t.shape[0], t.shape[1]);
    return true;
  });
  try {
    load_model(flipped);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("transformer.h.0.mlp.c_fc.weight"), std::string::npos) << message;
    EXPECT_NE(message.find("expected (64, 256)"), std::string::npos) << message;
  }
}

// The default model as its Q4_1 GGUF (decoded on use) against PyTorch on the same
// dequantised values in float32. Thirty layers of different summation order
// (oneDNN blocking vs torch) give differences of order 1e-4 on logits of order 10-30;
// a KV cache of F16 moved them by up to 0.018, allowed 0.05.
TEST(RealModelParity, DefaultModelLogitsMatchPyTorch) {
  const std::string dir = test::testdata_path("smollm2-f32");
  WHET_REQUIRE_REAL_MODEL_REFERENCE();
  expect_logits_match(load_model(test::default_model_path()), read_reference(dir), 2e-3f, 5e-2f);
}

}  // namespace
}  // namespace whet
