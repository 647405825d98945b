// export_model, the one function behind `whet export`, `merge` and `convert`:
// every format loads back into Whet and answers as the model it came from,
// exactly where nothing is rounded and within measured bounds where it is.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "models/llama_export.h"
#include "models/lora_gguf.h"
#include "models/lora_peft.h"
#include "models/reference_logits.h"
#include "test_support.h"

namespace whet {
namespace {

const char* kVariants[] = {"gqa_tied", "untied_llama3", "mha_linear_sharded"};

std::string tiny(const std::string& variant) { return test::testdata_path("tiny/" + variant); }

// The reference sequences' logits at every position, one prefill each, concatenated.
std::vector<float> all_logits(const LlamaModel& model, const LlamaLora* lora, const test::Reference& ref) {
  std::vector<float> out, logits;
  for (const std::vector<int32_t>& seq : ref.sequences) {
    KvCache cache(model.config, int64_t(seq.size()));
    llama_forward(model, cache, seq, logits, /*all_logits=*/true, lora);
    out.insert(out.end(), logits.begin(), logits.end());
  }
  return out;
}

float worst_difference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  return test::max_abs_diff(a.data(), b.data(), std::min(a.size(), b.size()));
}

// Printed so the bounds below can be re-measured: whet_tests --gtest_filter='Export.*'.
void note(const std::string& what, float worst) {
  std::printf("[ measured ] %s: max |logit difference| %.3g\n", what.c_str(), worst);
}

// The model with every matrix rounded as a GGUF of `dtype` stores it, in memory:
// what the exported file must answer exactly, whatever the rounding costs.
LlamaModel rounded_as_exported(const LlamaModel& model, DType dtype) {
  LlamaModel rounded = model;
  for_each_weight(rounded.weights, rounded.config, [&](const std::string& name, Weight& w) {
    if (w.rows == 1) return;
    const bool output = name == "output.weight" || (name == "token_embd.weight" && model.config.tie_word_embeddings);
    const bool below_8_bits = dtype == DType::Q4_0 || dtype == DType::Q5_0 || dtype == DType::Q5_1;
    w = convert_weight(w, below_8_bits && output ? DType::Q8_0 : dtype);
  });
  if (rounded.config.tie_word_embeddings) rounded.weights.lm_head = rounded.weights.embed;
  return rounded;
}

// A GGUF of each dtype against the model it was written from (an HF directory of
// fp16-exact weights). Every file answers as the model with its weights rounded
// in memory the same way, to the last bit but for summation order, which pins
// names, shapes and the q/k row order for the quantized files too. Against the
// unrounded model, f32 is exact and f16 differs only in summation order
// (measured 3.2e-6); q8_0, q4_0, q5_0 and q5_1 round every weight, and over the
// three tiny models (random weights, logits of magnitude 1-5) moved logits by at
// most 0.12, 1.73, 1.0 and 0.74: the bounds record that, with room for other seeds.
TEST(Export, GgufOfEachDtypeAnswersAsTheModel) {
  const std::pair<DType, float> kBounds[] = {{DType::F32, 0.0f},  {DType::F16, 1e-5f}, {DType::Q8_0, 0.25f},
                                             {DType::Q4_0, 3.0f}, {DType::Q5_0, 2.0f},  {DType::Q5_1, 2.0f}};
  for (const char* variant : kVariants) {
    const LoadedModel hf = load_model(tiny(variant) + "/hf");
    const test::Reference ref = test::read_reference(tiny(variant));
    const std::vector<float> want = all_logits(hf.model, nullptr, ref);
    for (auto [dtype, bound] : kBounds) {
      const std::string what = std::string(variant) + " gguf " + export_dtype_name(dtype);
      SCOPED_TRACE(what);
      const std::string path = test::this_test_scratch("export_") + "/model.gguf";
      export_model(hf, path, ExportFormat::Gguf, dtype);
      const std::vector<float> got = all_logits(load_model(path).model, nullptr, ref);
      EXPECT_LE(worst_difference(got, all_logits(rounded_as_exported(hf.model, dtype), nullptr, ref)), 1e-5f)
          << "the file does not hold the rounded model";
      const float worst = worst_difference(got, want);
      note(what, worst);
      EXPECT_LE(worst, bound);
    }
  }
}

// llama-quantize gives the matrix that makes the logits more bits than the rest;
// general.file_type is llama.cpp's LLAMA_FTYPE_MOSTLY_Q4_0 (2), _Q5_0 (8), _Q5_1 (9).
TEST(Export, BelowEightBitsKeepsTheOutputMatrixAtQ8_0) {
  for (auto [dtype, file_type] : {std::pair{DType::Q4_0, 2}, {DType::Q5_0, 8}, {DType::Q5_1, 9}}) {
    for (auto [variant, output] : {std::pair{"gqa_tied", "token_embd.weight"}, {"untied_llama3", "output.weight"}}) {
      SCOPED_TRACE(std::string(variant) + " " + export_dtype_name(dtype));
      const std::string path = test::this_test_scratch("export_") + "/model.gguf";
      export_model(load_model(tiny(variant) + "/hf"), path, ExportFormat::Gguf, dtype);
      const GgufFile g = GgufFile::open(path);
      EXPECT_EQ(g.get_int("general.file_type"), file_type);
      EXPECT_EQ(g.get_int("general.quantization_version"), 2);
      EXPECT_EQ(g.find_tensor(output)->dtype, DType::Q8_0);
      EXPECT_EQ(g.find_tensor("blk.1.ffn_down.weight")->dtype, dtype);
      EXPECT_EQ(g.find_tensor("blk.1.ffn_norm.weight")->dtype, DType::F32);
      if (std::string(output) == "output.weight") {
        EXPECT_EQ(g.find_tensor("token_embd.weight")->dtype, dtype) << "untied embeddings keep the file's type, as in llama.cpp";
      }
    }
  }
}

TEST(Export, HfDirectoryAnswersAsTheModel) {
  for (DType dtype : {DType::F32, DType::F16}) {
    const LoadedModel gguf = load_model(tiny("gqa_tied") + "/model-f16.gguf");
    const test::Reference ref = test::read_reference(tiny("gqa_tied"));
    const std::string out = test::this_test_scratch("export_");
    export_model(gguf, out, ExportFormat::Hf, dtype);
    // The same fp16 values, decoded on use from the GGUF, read as f32 or f16 from
    // safetensors: only the summation order may differ.
    EXPECT_LE(worst_difference(all_logits(load_model(out).model, nullptr, ref), all_logits(gguf.model, nullptr, ref)), 1e-5f)
        << export_dtype_name(dtype);
  }
}

// With an adapter, the model formats hold base and adapter merged: the same
// answers as the adapter applied unmerged, up to the fp32 rounding of W + s·B·A.
TEST(Export, MergedModelAnswersAsTheUnmergedAdapter) {
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    LoadedModel base = load_model(tiny(variant) + "/hf");
    base.adapter = std::make_shared<LlamaLora>(load_peft_adapter(tiny(variant) + "/gradients/lora", base.model.config));
    const test::Reference ref = test::read_reference(tiny(variant));
    const std::vector<float> unmerged = all_logits(base.model, base.adapter.get(), ref);
    ASSERT_GT(worst_difference(unmerged, all_logits(base.model, nullptr, ref)), 0.05f)
        << "the adapter barely changes the logits, so agreement would prove nothing";
    for (auto [format, name] : {std::pair{ExportFormat::Gguf, "/merged.gguf"}, {ExportFormat::Hf, "/merged"}}) {
      SCOPED_TRACE(std::string(variant) + name);
      const std::string out = test::this_test_scratch("export_") + name;
      export_model(base, out, format, DType::F32);
      const LoadedModel merged = load_model(out);
      EXPECT_EQ(merged.adapter, nullptr);
      EXPECT_LE(worst_difference(all_logits(merged.model, nullptr, ref), unmerged), 1e-4f);
    }
  }
}

TEST(Export, PeftAdapterReloadsIdentically) {
  LoadedModel base = load_model(tiny("gqa_tied") + "/hf");
  const LlamaLora lora = load_peft_adapter(tiny("gqa_tied") + "/gradients/lora", base.model.config);
  base.adapter = std::make_shared<LlamaLora>(lora);
  const std::string out = test::this_test_scratch("export_") + "/adapter";
  export_model(base, out, ExportFormat::Peft, DType::F32);
  const LlamaLora back = load_peft_adapter(out, base.model.config);
  EXPECT_EQ(back.config.rank, lora.config.rank);
  EXPECT_EQ(back.config.alpha, lora.config.alpha);
  EXPECT_EQ(back.config.targets, lora.config.targets);
  for (size_t layer = 0; layer < lora.layers.size(); ++layer) {
    for (int p = 0; p < kProjections; ++p) {
      EXPECT_EQ(back.layers[layer][p].a, lora.layers[layer][p].a);
      EXPECT_EQ(back.layers[layer][p].b, lora.layers[layer][p].b);
    }
  }
}

// The GGUF LoRA file, read back, answers as the PEFT adapter it came from: f32
// exactly; f16 and q8_0 round A and B (B, of rank 4, stays f16 in a q8_0 file).
// Measured worst differences over the three tiny models: 0.0017 (f16) and 0.044
// (q8_0, A rounded to steps of amax/127), on logits the adapter itself moves by
// 0.1-1; bounds with room for other seeds.
TEST(Export, GgufLoraAnswersAsThePeftAdapter) {
  const std::pair<DType, float> kBounds[] = {{DType::F32, 0.0f}, {DType::F16, 0.005f}, {DType::Q8_0, 0.1f}};
  for (const char* variant : kVariants) {
    LoadedModel base = load_model(tiny(variant) + "/hf");
    const std::string peft = tiny(variant) + "/gradients/lora";
    base.adapter = std::make_shared<LlamaLora>(load_peft_adapter(peft, base.model.config));
    const test::Reference ref = test::read_reference(tiny(variant));
    const std::vector<float> want = all_logits(base.model, base.adapter.get(), ref);
    for (auto [dtype, bound] : kBounds) {
      const std::string what = std::string(variant) + " gguf-lora " + export_dtype_name(dtype);
      SCOPED_TRACE(what);
      const std::string path = test::this_test_scratch("export_") + "/adapter.gguf";
      export_model(base, path, ExportFormat::GgufLora, dtype);
      const LlamaLora lora = load_gguf_lora(path, base.model.config);
      const float worst = worst_difference(all_logits(base.model, &lora, ref), want);
      note(what, worst);
      EXPECT_LE(worst, bound);
    }
  }
}

// What makes an exported model stop where it should: eos, the end-of-turn token
// of its chat template (<|im_end|> here) and the template itself, in the keys
// llama.cpp reads.
TEST(Export, GgufCarriesEndOfTurnAndChatTemplate) {
  const LoadedModel hf = load_model(tiny("gqa_tied") + "/hf");
  const TokenizerSpec& spec = hf.tokenizer.spec();
  const int im_end = hf.tokenizer.token_id("<|im_end|>");
  ASSERT_GE(im_end, 0);
  const std::string path = test::this_test_scratch("export_") + "/model.gguf";
  export_model(hf, path, ExportFormat::Gguf, DType::Q4_0);
  const GgufFile g = GgufFile::open(path);
  EXPECT_EQ(g.get_int("tokenizer.ggml.eos_token_id"), spec.eos_id);
  EXPECT_EQ(g.get_int("tokenizer.ggml.eot_token_id"), im_end);
  EXPECT_EQ(g.get_int("tokenizer.ggml.bos_token_id"), spec.bos_id);
  EXPECT_EQ(g.get_string("tokenizer.chat_template"), spec.chat_template);
  EXPECT_FALSE(spec.chat_template.empty());
  const LoadedModel back = load_model(path);
  EXPECT_TRUE(back.tokenizer.is_end_of_generation(im_end));
  ASSERT_TRUE(back.chat_template.has_value());
  EXPECT_EQ(back.chat_template->name(), "chatml");
}

TEST(Export, AdapterFormatsNeedAnAdapter) {
  const LoadedModel hf = load_model(tiny("gqa_tied") + "/hf");
  const std::string dir = test::this_test_scratch("export_");
  test::expect_error([&] { export_model(hf, dir + "/a", ExportFormat::Peft, DType::F32); }, {"--to peft", "--adapter"});
  test::expect_error([&] { export_model(hf, dir + "/a.gguf", ExportFormat::GgufLora, DType::F32); },
                     {"--to gguf-lora", "--adapter"});
}

TEST(Export, EachFormatTakesItsOwnDtypes) {
  LoadedModel hf = load_model(tiny("gqa_tied") + "/hf");
  hf.adapter = std::make_shared<LlamaLora>(load_peft_adapter(tiny("gqa_tied") + "/gradients/lora", hf.model.config));
  const std::string dir = test::this_test_scratch("export_");
  for (auto [format, dtype] : {std::pair{ExportFormat::Hf, DType::Q4_0}, {ExportFormat::Peft, DType::F16},
                               {ExportFormat::GgufLora, DType::Q4_0}}) {
    SCOPED_TRACE(export_format_name(format));
    test::expect_error([&] { export_model(hf, dir + "/out", format, dtype); },
                       {"--to " + std::string(export_format_name(format)), "not " + export_dtype_name(dtype)});
    EXPECT_FALSE(std::filesystem::exists(dir + "/out"));
  }
  EXPECT_EQ(default_export_dtype(ExportFormat::Gguf), DType::F16);
  EXPECT_EQ(default_export_dtype(ExportFormat::GgufLora), DType::F32);
}

// Mean over positions of KL(reference || exported) between the softmax
// distributions of their logits, in nats: how much the rounding changes what
// the model predicts, whatever the logits' scale.
double mean_kl_divergence(const std::vector<float>& want, const std::vector<float>& got, size_t vocab) {
  EXPECT_EQ(want.size(), got.size());
  auto log_softmax = [vocab](const float* row) {
    const double top = *std::max_element(row, row + vocab);
    double z = 0;
    for (size_t v = 0; v < vocab; ++v) z += std::exp(double(row[v]) - top);
    std::vector<double> out(vocab);
    for (size_t v = 0; v < vocab; ++v) out[v] = double(row[v]) - top - std::log(z);
    return out;
  };
  const size_t rows = std::min(want.size(), got.size()) / vocab;
  double sum = 0;
  for (size_t r = 0; r < rows; ++r) {
    const std::vector<double> p = log_softmax(want.data() + r * vocab), q = log_softmax(got.data() + r * vocab);
    for (size_t v = 0; v < vocab; ++v) sum += std::exp(p[v]) * (p[v] - q[v]);
  }
  return sum / double(rows);
}

// The positions whose most likely next token is the same in both.
int first_choices_agreeing(const std::vector<float>& want, const std::vector<float>& got, size_t vocab) {
  int agree = 0;
  for (size_t row = 0; (row + 1) * vocab <= std::min(want.size(), got.size()); ++row) {
    auto first = [&](const std::vector<float>& l) {
      return std::max_element(l.begin() + long(row * vocab), l.begin() + long((row + 1) * vocab)) - l.begin();
    };
    agree += first(want) == first(got);
  }
  return agree;
}

// The default model (SmolLM2-135M-Instruct, 30 blocks of width 576) against its
// PyTorch reference, over 27 positions: the rounding of each dtype as a user
// will meet it. First, as for the tiny models, each file must answer as the
// model rounded the same way in memory (measured: identical), which a wrong
// name, shape, row order or block layout breaks. Then the rounding's own cost,
// which the largest logit difference measures poorly: logits reach ~30 and
// q4_0 moves the worst of 49152 x 27 by 16.3, while a q4_0 quantizer that
// truncates instead of rounding moves it by 24.2 (tried once by hand). The mean
// KL divergence of the next-token distributions tells them apart: measured
// f16 5.2e-6 nats (27/27 first choices agree), q8_0 0.0034 (25/27), q4_0 0.69
// (17/27), q5_0 0.17 (19/27), q5_1 0.36 (16/27), the truncating q4_0 4.1 (4/27);
// the bounds leave room for other machines' summation order, not for a broken encoding.
// llama.cpp (llama-cpp-python 0.3.36) running the same exported files against
// the same reference: max |difference| f32 0.025, f16 0.087, q8_0 1.87 (24/27),
// q4_0 16.4 (16/27), so the cost is the rounding's, not Whet's (the encodings
// are byte-identical to gguf-py's quantize; tests/python/check_gguf.py checks that).
TEST(Export, RealModelGgufStaysCloseToReference) {
  const std::string dir = test::testdata_path("smollm2-f32");
  WHET_REQUIRE_REAL_MODEL_REFERENCE();
  const LoadedModel hf = load_model(dir);
  const test::Reference ref = test::read_reference(dir);
  std::vector<float> want;
  for (const std::vector<float>& l : ref.logits) want.insert(want.end(), l.begin(), l.end());
  const size_t vocab = size_t(ref.vocab), positions = want.size() / vocab;
  struct Bound {
    DType dtype;
    double kl;        // nats, mean over positions
    double agreement;  // least fraction of positions whose first choice agrees
  };
  for (auto [dtype, kl_bound, agreement] : {Bound{DType::F16, 1e-4, 1.0}, {DType::Q8_0, 0.02, 0.85}, {DType::Q4_0, 1.0, 0.5},
                                            {DType::Q5_0, 0.35, 0.55}, {DType::Q5_1, 0.6, 0.5}}) {
    const std::string what = "SmolLM2-135M gguf " + export_dtype_name(dtype);
    SCOPED_TRACE(what);
    const std::string path = test::this_test_scratch("export_") + "/model.gguf";
    export_model(hf, path, ExportFormat::Gguf, dtype);
    const std::vector<float> got = all_logits(load_model(path).model, nullptr, ref);
    const float exact = worst_difference(got, all_logits(rounded_as_exported(hf.model, dtype), nullptr, ref));
    const double kl = mean_kl_divergence(want, got, vocab);
    const int agree = first_choices_agreeing(want, got, vocab);
    std::printf("[ measured ] %s: against the model rounded in memory %.3g; against the reference max |logit "
                "difference| %.3g, mean KL %.3g nats, first choice agrees at %d of %zu positions\n",
                what.c_str(), exact, worst_difference(got, want), kl, agree, positions);
    EXPECT_LE(exact, 1e-4f) << "the file does not hold the rounded model";
    EXPECT_LE(kl, kl_bound);
    EXPECT_GE(agree, agreement * double(positions));
  }
}

}  // namespace
}  // namespace whet
