// `whet export` as a user runs it: every format it writes answers as the model
// and adapter it came from, `merge` takes the GGUF adapter too, mistakes are
// clear errors, and the GGUF files parse with the `gguf` package from PyPI
// (llama.cpp's own reader) as tests/python/check_gguf.py requires.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli/run_whet.h"

namespace whet {
namespace {

using test::run_whet;
using test::RunResult;

const auto& tiny = test::tiny_model;
const auto& answer = test::greedy_cli_answer;

void expect_runs(const std::string& args) {
  const RunResult r = run_whet(args);
  ASSERT_EQ(r.exit_code, 0) << args << "\n" << r.err;
  EXPECT_NE(r.err.find("wrote"), std::string::npos) << r.err;
}

TEST(CliExport, HelpNamesEveryFormat) {
  const RunResult r = run_whet("export --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* expected : {"Usage", "--adapter", "--to", "gguf-lora", "peft", "q4_0", "Examples"})
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
}

// f32 everywhere, so every path must give the very answer of the adapter applied unmerged.
TEST(CliExport, EveryFormatAnswersAsTheAdapter) {
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    SCOPED_TRACE(variant);
    const std::string base = tiny(variant) + "/hf", adapter = tiny(variant) + "/gradients/lora";
    const std::string out = test::scratch_dir(std::string("cli_export_") + variant);
    const std::string with_adapter = answer(base + " --adapter " + adapter);
    ASSERT_NE(with_adapter, answer(base));

    expect_runs("export " + base + " " + out + "/merged.gguf --adapter " + adapter + " --to gguf --dtype f32");
    EXPECT_EQ(answer(out + "/merged.gguf"), with_adapter);
    expect_runs("export " + base + " " + out + "/merged --adapter " + adapter + " --to hf");
    EXPECT_EQ(answer(out + "/merged"), with_adapter);
    expect_runs("export " + base + " " + out + "/peft --adapter " + adapter + " --to peft");
    EXPECT_EQ(answer(base + " --adapter " + out + "/peft"), with_adapter);
    expect_runs("export " + base + " " + out + "/lora.gguf --adapter " + adapter + " --to gguf-lora");
    EXPECT_EQ(answer(base + " --adapter " + out + "/lora.gguf"), with_adapter);
    // ... and back from the GGUF adapter, by export and by merge.
    expect_runs("export " + base + " " + out + "/peft2 --adapter " + out + "/lora.gguf --to peft");
    EXPECT_EQ(answer(base + " --adapter " + out + "/peft2"), with_adapter);
    expect_runs("merge " + base + " " + out + "/lora.gguf " + out + "/merged2.gguf --to gguf --dtype f32");
    EXPECT_EQ(answer(out + "/merged2.gguf"), with_adapter);
  }
}

TEST(CliExport, QuantizedGgufRuns) {
  const std::string out = test::scratch_dir("cli_export_q4_0") + "/model.gguf";
  expect_runs("export " + tiny("gqa_tied") + "/hf " + out + " --adapter " + tiny("gqa_tied") +
              "/gradients/lora --to gguf --dtype q4_0");
  const RunResult r = run_whet("info " + out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Q4_0"), std::string::npos) << r.out;
  EXPECT_FALSE(answer(out).empty());
}

TEST(CliExport, MistakesAreClearErrors) {
  const std::string base = tiny("gqa_tied") + "/hf", out = test::scratch_dir("cli_export_errors");
  struct Case {
    std::string args, message;
  };
  for (const Case& c : {Case{"--to peft", "--adapter"}, Case{"--to gguf-lora", "--adapter"},
                        Case{"--to hf --dtype q4_0", "--to hf writes f32, f16, bf16, not q4_0"},
                        Case{"--to gguf --adapter /nonexistent/adapter", "/nonexistent/adapter"},
                        Case{"--to gguf --adapter " + tiny("gqa_tied") + "/model-f32.gguf", "general.type"}}) {
    SCOPED_TRACE(c.args);
    const RunResult r = run_whet("export " + base + " " + out + "/out " + c.args);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out + "/out"));
  }
  EXPECT_NE(run_whet("export " + base + " " + out + "/out --to onnx").exit_code, 0);
}

void expect_check_passes(const std::string& args) {
  const RunResult r =
      test::run_whet_command(test::test_python() + " " + test::source_path("tests/python/check_gguf.py") + " " + args);
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.out << r.err;
  EXPECT_NE(r.out.find(": ok"), std::string::npos) << r.out;
}

TEST(CliExport, GgufFilesParseWithPythonGguf) {
  WHET_REQUIRE_FILE(test::test_python(), "scripts/setup_test_venv.sh");
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    SCOPED_TRACE(variant);
    const std::string hf = tiny(variant) + "/hf", adapter = tiny(variant) + "/gradients/lora";
    const std::string out = test::scratch_dir(std::string("cli_export_gguf_py_") + variant);
    for (const char* dtype : {"f32", "f16", "q8_0", "q4_0", "q5_0", "q5_1"}) {
      const std::string file = out + "/model-" + dtype + ".gguf";
      expect_runs("export " + hf + " " + file + " --to gguf --dtype " + dtype);
      expect_check_passes("model " + file + " --hf " + hf + " --dtype " + dtype);
    }
    for (const char* dtype : {"f32", "f16", "q8_0"}) {
      const std::string file = out + "/lora-" + dtype + ".gguf";
      expect_runs("export " + hf + " " + file + " --adapter " + adapter + " --to gguf-lora --dtype " + dtype);
      expect_check_passes("lora " + file + " --peft " + adapter + " --hf " + hf + " --dtype " + dtype);
    }
  }
  // The real vocabulary (49152 tokens, eos and eot <|im_end|>) and 30 blocks, when the default model is there.
  const std::string smollm2 = test::testdata_path("smollm2-f32");
  if (!std::filesystem::exists(smollm2 + "/config.json")) return;
  for (const std::string dtype : {"q4_0", "q5_0", "q5_1"}) {
    const std::string file = test::scratch_dir("cli_export_gguf_py_smollm2") + "/model-" + dtype + ".gguf";
    expect_runs("export " + smollm2 + " " + file + " --to gguf --dtype " + dtype);
    expect_check_passes("model " + file + " --hf " + smollm2 + " --dtype " + dtype);
  }
}

}  // namespace
}  // namespace whet
