// The reference a served model's prompts are compared with: the prompt of a
// line in each training format, tokenized as the server tokenizes a request,
// and the training data found from the run folder an adapter or model was
// written into.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "eval/drift_stats.h"
#include "generate/prompt.h"
#include "serve/drift_reference.h"
#include "server_fixture.h"
#include "train/train_config.h"

namespace whet::serve {
namespace {

namespace fs = std::filesystem;

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

TEST(DriftReference, EachTrainingFormatGivesThePromptTheServerWouldRead) {
  const LoadedModel model = load_model(test::tiny_model_path());
  const std::string dir = test::scratch_dir("drift_reference_formats");
  write(dir + "/mixed.jsonl",
        R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]})"
        "\n"
        R"({"prompt": "2 + 2 =", "completion": " 4"})"
        "\n\n"
        R"({"text": "plain words"})"
        "\n"
        R"({"prompt": "Say yes.", "chosen": "yes", "rejected": "no"})"
        "\n"
        R"({"prompt": "Say no.", "completion": "no", "label": true})"
        "\n"
        R"({"messages": [{"role": "user", "content": "an RL prompt"}], "answer": "7"})"
        "\n");
  const DriftReference reference = build_drift_reference({{dir + "/mixed.jsonl"}, DataFormat::Auto, "test"}, model, 3, 8);
  const std::vector<std::vector<int32_t>> expected = {
      chat_prompt_tokens(model, {{"system", "Be brief."}, {"user", "hi"}}),
      model.tokenizer.encode("2 + 2 ="),
      model.tokenizer.encode("plain words"),
      model.tokenizer.encode("Say yes."),
      model.tokenizer.encode("Say no."),
      chat_prompt_tokens(model, {{"user", "an RL prompt"}}),
  };
  EXPECT_EQ(reference.prompts, expected.size());
  std::vector<double> lengths(kPromptLengthBins, 0.0);
  double tokens = 0;
  for (const auto& e : expected) {
    lengths[size_t(prompt_length_bin(int64_t(e.size())))] += 1;
    tokens += double(e.size());
  }
  EXPECT_EQ(reference.length_counts, lengths);
  double counted = 0;
  for (double c : reference.token_counts) counted += c;
  EXPECT_EQ(counted, tokens);
  EXPECT_EQ(reference.token_counts.size(), reference.top_tokens.size() + 1);
  // The perplexity sample: 3 of the prompts, each cut to its first 8 tokens.
  ASSERT_EQ(reference.perplexity_sample.size(), 3u);
  for (const auto& p : reference.perplexity_sample) EXPECT_LE(p.size(), 8u);
}

TEST(DriftReference, AMalformedLineOrAFileWithoutPromptsIsAnError) {
  const LoadedModel model = load_model(test::tiny_model_path());
  const std::string dir = test::scratch_dir("drift_reference_bad");
  write(dir + "/bad.jsonl", "{\"text\": \"fine\"}\n{\"text\": 5}\n");
  test::expect_error([&] { build_drift_reference({{dir + "/bad.jsonl"}, DataFormat::Auto, "x"}, model, 1, 8); },
                     {"bad.jsonl:2"});
  write(dir + "/empty.jsonl", "\n\n");
  test::expect_error([&] { build_drift_reference({{dir + "/empty.jsonl"}, DataFormat::Auto, "x"}, model, 1, 8); },
                     {"no prompt"});
  test::expect_error([&] { build_drift_reference({{dir + "/missing.jsonl"}, DataFormat::Auto, "x"}, model, 1, 8); },
                     {"missing.jsonl"});
}

TEST(DriftReference, TheRunFolderOfAnAdapterOrModelNamesItsTrainingData) {
  const fs::path root = test::scratch_dir("drift_reference_run_folder");
  // `whet train` started in `root` with relative paths wrote runs/x/config.yaml.
  const TrainConfig config =
      train_config_from_overrides({"train_data=[data/train.jsonl, /abs/extra.jsonl]", "output_dir=runs/x"});
  write((root / "runs/x/config.yaml").string(), dump_train_config(config));
  fs::create_directories(root / "runs/x/adapter");
  fs::create_directories(root / "runs/x/best/adapter");
  write((root / "runs/x/model/model.gguf").string(), "");
  const std::vector<std::string> expected = {(root / "data/train.jsonl").string(), "/abs/extra.jsonl"};
  for (const char* served : {"runs/x/adapter", "runs/x/adapter/", "runs/x/best/adapter", "runs/x/model/model.gguf", "runs/x"}) {
    const auto source = run_folder_training_data((root / served).string());
    ASSERT_TRUE(source) << served;
    EXPECT_EQ(source->files, expected) << served;
    EXPECT_EQ(source->origin, (root / "runs/x/config.yaml").string());
    EXPECT_EQ(source->format, DataFormat::Auto);
  }
  // A config.yaml that is not a run's (no header of dump_train_config) is no run folder.
  write((root / "other/config.yaml").string(), "train_data: a.jsonl\noutput_dir: other\n");
  fs::create_directories(root / "other/adapter");
  EXPECT_FALSE(run_folder_training_data((root / "other/adapter").string()));
  EXPECT_FALSE(run_folder_training_data(test::tiny_model_path()));
}

}  // namespace
}  // namespace whet::serve
