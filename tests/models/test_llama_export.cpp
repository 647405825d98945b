// `whet convert` in both directions: a model written out and loaded back gives
// the PyTorch reference logits and the same token ids.
#include <gtest/gtest.h>

#include <algorithm>

#include <string>

#include "core/error.h"
#include "io/gguf.h"
#include "models/llama_export.h"
#include "models/reference_logits.h"
#include "test_support.h"

namespace whet {
namespace {

const char* kVariants[] = {"gqa_tied", "untied_llama3", "mha_linear_sharded", "qwen2_bias", "mistral_window",
                           "gemma3_sandwich", "phi3_longrope", "gpt2_tiny"};
const char* kSample = "<|im_start|>user\nthe tin in the sea<|im_end|>";

void expect_same_tokenizer(const LoadedModel& a, const LoadedModel& b) {
  EXPECT_EQ(a.tokenizer.encode(kSample), b.tokenizer.encode(kSample));
  EXPECT_EQ(a.tokenizer.spec().eos_id, b.tokenizer.spec().eos_id);
  ASSERT_TRUE(b.chat_template.has_value());
  EXPECT_EQ(a.chat_template->name(), b.chat_template->name());
}

// F16 is lossless here (the tiny weights are fp16 values); Q8_0 keeps 8 bits
// per weight (scale amax/127 per block of 32), which moves logits of order 1-5
// by about a tenth; a wiring error moves them by whole units.
TEST(LlamaExport, HfToGgufKeepsLogitsAndTokenizer) {
  for (const char* variant : kVariants) {
    SCOPED_TRACE(variant);
    const std::string dir = test::testdata_path(std::string("tiny/") + variant);
    const LoadedModel hf = load_model(dir + "/hf");
    const test::Reference ref = test::read_reference(dir);
    for (auto [dtype, tolerance] : {std::pair{DType::F32, 1e-4f}, {DType::F16, 1e-4f}, {DType::Q8_0, 0.25f}}) {
      SCOPED_TRACE(dtype_name(dtype));
      const std::string path = test::scratch_dir(std::string("export_gguf_") + variant) + "/model.gguf";
      export_gguf(hf, path, dtype);
      const LoadedModel gguf = load_model(path);
      test::expect_logits_match(gguf, ref, tolerance, std::max(tolerance, test::kHalfCacheTolerance));
      expect_same_tokenizer(hf, gguf);
    }
  }
}

// Gemma's norms go back to Hugging Face's w (from GGUF's 1 + w), Qwen2's biases,
// Mistral's window, Phi-3's fused tensors and longrope, and GPT-2's config.json names,
// Conv1D matrices and fused c_attn through config.json and the tensor names.
TEST(LlamaExport, GgufToHfKeepsLogitsAndTokenizer) {
  for (const char* variant :
       {"gqa_tied", "mha_linear_sharded", "qwen2_bias", "mistral_window", "gemma3_sandwich", "phi3_longrope",
        "gpt2_tiny", "gemma3_softcap"}) {
    SCOPED_TRACE(variant);
    const std::string dir = test::testdata_path(std::string("tiny/") + variant);
    const LoadedModel gguf = load_model(dir + "/model-f16.gguf");
    const std::string out = test::scratch_dir(std::string("export_hf_") + variant);
    export_hf_dir(gguf, out, DType::F32);
    const LoadedModel hf = load_model(out);
    test::expect_logits_match(hf, test::read_reference(dir), 1e-4f, test::kHalfCacheTolerance);
    expect_same_tokenizer(gguf, hf);
  }
}

// A Hugging Face tokenizer splitting text by GPT-2's regex is written to GGUF as
// "gpt-2", the name llama.cpp reads (it refuses a GPT-2 model that says "gpt2").
TEST(LlamaExport, GgufNamesTheGpt2PreTokenizerAsLlamaCppDoes) {
  const LoadedModel hf = load_model(test::testdata_path("tiny/gpt2_tiny/hf"));
  const std::string path = test::scratch_dir("export_gguf_pre") + "/model.gguf";
  export_gguf(hf, path, DType::F16);
  EXPECT_EQ(GgufFile::open(path).get_string("tokenizer.ggml.pre"), "gpt-2");
}

// llama3 scaling reaches GGUF only as per-frequency divisors, which config.json cannot express.
TEST(LlamaExport, RopeFactorsWithoutConfigEquivalentAreAClearError) {
  const LoadedModel gguf = load_model(test::testdata_path("tiny/untied_llama3/model-f32.gguf"));
  try {
    export_hf_dir(gguf, test::scratch_dir("export_hf_llama3"), DType::F32);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rope_freqs.weight"), std::string::npos) << e.what();
  }
}

// llama.cpp reads a gemma3 file's final softcap and applies no attention softcap to
// gemma3: a model with the latter is refused, not written as a file llama.cpp would run
// differently; the final cap alone goes through (Gemma 3 without the attention cap).
TEST(LlamaExport, GemmaAttentionSoftcapIsNotWrittenToGguf) {
  LoadedModel hf = load_model(test::testdata_path("tiny/gemma3_softcap/hf"));
  const std::string path = test::scratch_dir("export_gguf_softcap") + "/model.gguf";
  try {
    export_gguf(hf, path, DType::F32);
    ADD_FAILURE() << "exported an attention softcap to GGUF";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("attention logit softcapping"), std::string::npos) << e.what();
  }
  hf.model.config.attn_logit_softcap = 0.0f;
  export_gguf(hf, path, DType::F32);
  const LoadedModel gguf = load_model(path);
  EXPECT_EQ(gguf.model.config.attn_logit_softcap, 0.0f);
  EXPECT_EQ(gguf.model.config.final_logit_softcap, 3.0f);
}

// A GGUF cap that is not a positive number is refused, naming the key.
TEST(LlamaExport, GgufSoftcapMustBePositive) {
  const GgufFile source = GgufFile::open(test::testdata_path("tiny/gemma3_softcap/model-f32.gguf"));
  GgufWriter out;
  for (const auto& [key, value] : source.metadata) out.set(key, value);
  out.set("gemma3.final_logit_softcapping", GgufValue::make_f32(-3.0f));
  for (const TensorView& t : source.tensors) out.add_tensor(t.name, t.dtype, t.shape, t.data, t.nbytes);
  const std::string path = test::scratch_dir("gguf_negative_softcap") + "/model.gguf";
  out.write(path);
  try {
    load_model(path);
    ADD_FAILURE() << "loaded a negative softcap";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gemma3.final_logit_softcapping is -3"), std::string::npos) << e.what();
  }
}

TEST(LlamaExport, UnsupportedDtypesAreErrors) {
  const LoadedModel hf = load_model(test::testdata_path("tiny/gqa_tied/hf"));
  EXPECT_THROW(export_hf_dir(hf, test::scratch_dir("export_hf_q8"), DType::Q8_0), Error);
  EXPECT_THROW(export_gguf(hf, test::scratch_dir("export_gguf_q4") + "/m.gguf", DType::Q4_K), Error);
}

}  // namespace
}  // namespace whet
