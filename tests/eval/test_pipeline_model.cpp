// The data pipeline's model calls bound to real models: label probabilities
// held to a plain log-likelihood sum, replies to generate() itself, and whole
// pipelines with every model-based stage on a tiny generated model and on the
// default model.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>

#include <nlohmann/json.hpp>

#include "prepare/pipeline_test_support.h"
#include "data/dataset.h"
#include "prepare/pipeline.h"
#include "data/tokenize_example.h"
#include "eval/loglikelihood.h"
#include "eval/pipeline_model.h"
#include "generate/generator.h"
#include "generate/prompt.h"

namespace whet {
namespace {

using json = nlohmann::json;

const LoadedModel& tiny_model() {
  static const LoadedModel model = load_model(test::testdata_path("tiny/gqa_tied/hf"), WeightFormat::F32);
  return model;
}

Record prompt_record(const std::string& prompt, size_t id) {
  Record r;
  r.id = id;
  r.example.format = DataFormat::Completion;
  r.example.file = "pool.jsonl";
  r.example.line = id + 1;
  r.example.prompt = prompt;
  return r;
}

// log P(label and end of answer | prompt), summed token by token over the trained span.
double label_loglikelihood(const LoadedModel& model, const std::string& prompt, const std::string& label) {
  Example e;
  e.format = DataFormat::Completion;
  e.prompt = prompt;
  e.completion = label_continuation(prompt, label);
  const TokenizedExample t = tokenize_example(e, model.tokenizer, *model.chat_template, false);
  LogLikelihood scorer(model, int64_t(t.ids.size()));
  const size_t first = size_t(std::find(t.loss.begin(), t.loss.end(), true) - t.loss.begin());
  const std::vector<double> lp = scorer.token_logprobs(t.ids, first);
  double sum = 0;
  for (size_t i = first; i < t.ids.size(); ++i)
    if (t.loss[i]) sum += lp[i - first];
  return sum;
}

TEST(PipelineModel, LabelProbabilitiesAreSoftmaxedLabelLogLikelihoods) {
  const LoadedModel& model = tiny_model();
  const StageModel bound = bind_stage_model(model);
  const std::vector<std::string> labels = {"sea", "the sea", "stone"};
  const std::vector<Record> records = {prompt_record("The tide came in over the", 0), prompt_record("Waves and", 1)};
  const std::vector<std::vector<double>> p =
      bound.label_probabilities({&records[0], &records[1]}, labels, {});
  ASSERT_EQ(p.size(), 2u);
  for (size_t i = 0; i < records.size(); ++i) {
    std::vector<double> ll;
    for (const std::string& label : labels) ll.push_back(label_loglikelihood(model, records[i].example.prompt, label));
    ASSERT_EQ(p[i].size(), labels.size());
    EXPECT_NEAR(std::accumulate(p[i].begin(), p[i].end(), 0.0), 1.0, 1e-12);
    // Ratios of probabilities are differences of log-likelihoods (tolerance: float logits summed in double).
    for (size_t l = 1; l < labels.size(); ++l)
      EXPECT_NEAR(std::log(p[i][l] / p[i][0]), ll[l] - ll[0], 1e-4) << labels[l];
  }
}

TEST(PipelineModel, RepliesAreWhatGenerateGivesAndSeedsRepeat) {
  const LoadedModel& model = tiny_model();
  const StageModel bound = bind_stage_model(model);
  const std::vector<GenerationRequest> requests = {{"the sea and the", 12, 0, 0}, {"stone by the", 12, 0.9, 77},
                                                   {"stone by the", 12, 0.9, 78}};
  std::vector<size_t> progress;
  const std::vector<std::optional<std::string>> replies =
      bound.generate(requests, [&](size_t done, size_t) { progress.push_back(done); });
  EXPECT_EQ(progress, (std::vector<size_t>{1, 2, 3}));
  for (size_t i = 0; i < requests.size(); ++i) {
    Session session(model.model, 256);
    GenerationOptions options;
    options.max_tokens = requests[i].max_tokens;
    options.sampling.temperature = float(requests[i].temperature);
    options.sampling.seed = requests[i].seed;
    const std::string direct =
        generate(model, session, chat_prompt_tokens(model, {{"user", requests[i].user}}), options).text;
    ASSERT_TRUE(replies[i]);
    EXPECT_EQ(*replies[i], direct) << i;
  }
  EXPECT_EQ(bound.generate(requests, {}), replies);
}

// The tiny model's 128 positions: what does not fit is reported per request or
// record, and the rest is still answered.
TEST(PipelineModel, WhatDoesNotFitTheContextIsMarkedNotFatal) {
  const LoadedModel& model = tiny_model();
  const StageModel bound = bind_stage_model(model);
  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += "sea ";
  const std::vector<std::optional<std::string>> replies =
      bound.generate({{long_text, 4, 0, 0}, {"the sea", 4, 0, 0}}, {});
  EXPECT_FALSE(replies[0]);
  EXPECT_TRUE(replies[1]);
  const std::vector<Record> records = {prompt_record(long_text, 0), prompt_record("the sea", 1)};
  const std::vector<std::vector<double>> p = bound.label_probabilities({&records[0], &records[1]}, {"sea", "stone"}, {});
  EXPECT_TRUE(p[0].empty());
  EXPECT_EQ(p[1].size(), 2u);
}

// The tiny model with room for the stages' prompts: its 128 positions hold
// less than one request, and a random model is as random at any length.
std::string tiny_model_with_long_context(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string copy = dir + "/tiny";
  fs::create_directories(copy);
  for (const auto& entry : fs::directory_iterator(test::testdata_path("tiny/gqa_tied/hf")))
    fs::copy_file(entry.path(), copy + "/" + entry.path().filename().string(), fs::copy_options::overwrite_existing);
  json config = json::parse(test::read_all(copy + "/config.json"));
  config["max_position_embeddings"] = 2048;
  test::write_file(copy, "config.json", config.dump());
  return copy;
}

// Every model-based stage on the tiny model: the run accounts for each line,
// what it writes trains, and it writes the same bytes again.
TEST(PipelineModel, EveryModelStageOnATinyModelRerunsIdentically) {
  const std::string dir = test::this_test_scratch("pipeline_model_");
  const std::string model = tiny_model_with_long_context(dir);
  std::filesystem::create_directories(dir + "/docs");
  test::write_file(dir, "docs/sea.txt", "the sea and the stone\n\nthe stone by the sea and the sea\n");
  test::write_file(dir, "train.jsonl",
                   "{\"prompt\": \"the sea\", \"completion\": \"stone\"}\n{\"prompt\": \"the stone\", \"completion\": \"sea\"}\n");
  test::write_file(dir, "pool.jsonl", "{\"prompt\": \"the sea and\"}\n{\"prompt\": \"by the\"}\n");
  const PipelineConfig config = test::config_in(
      dir, "output_dir: out\nlabel_field: completion\nsources:\n  - path: train.jsonl\n  - path: pool.jsonl\n    role: unlabelled\n"
           "  - path: docs\n    type: text\n    role: documents\n    unit: paragraph\n"
           "synthesize: {model: " + model + ", questions: 2, max_tokens: 8, retrieve: 2}\n"
           "pseudo_label: {model: " + model + ", threshold: 0}\n"
           "augment: {model: " + model + ", paraphrases: 1, questions: 1, max_tokens: 8}\n");
  PipelineOptions options;
  options.open_model = pipeline_model_opener(WeightFormat::F32);
  const PipelineResult r = run_pipeline(config, options);
  EXPECT_EQ(r.chunks.size(), 2u);
  size_t pseudo = 0;
  for (const std::string& line : test::read_lines(r.output_dir + "/train.jsonl")) {
    const json j = json::parse(line);
    pseudo += j.contains("pseudo_label_confidence");
    if (j.contains("chunk_id")) {
      EXPECT_TRUE(j["chunk_id"] == "docs/sea.txt:1#1" || j["chunk_id"] == "docs/sea.txt:3#1") << j;
    }
  }
  EXPECT_GE(pseudo, 2u);  // threshold 0 labels the whole pool
  // What the pipeline writes is what training reads.
  DataOptions strict;
  strict.strict = true;
  const Dataset data =
      load_dataset({r.output_dir + "/train.jsonl"}, {}, tiny_model().tokenizer, *tiny_model().chat_template, strict);
  size_t examples = 0;
  for (size_t n : data.stats.examples) examples += n;
  EXPECT_EQ(examples, r.splits[0].lengths.size());
  options.output_dir = dir + "/again";
  run_pipeline(config, options);
  for (const char* file : {"train.jsonl", "trace.jsonl", "manifest.json", "chunks.jsonl"})
    EXPECT_EQ(test::read_all(r.output_dir + "/" + file), test::read_all(dir + "/again/" + file)) << file;
}

// The default model labels plain reviews by likelihood and writes grounded
// question/answer pairs from a short document.
TEST(PipelineModel, DefaultModelPseudoLabelsAndSynthesizes) {
  WHET_REQUIRE_DEFAULT_MODEL();
  const std::string dir = test::this_test_scratch("pipeline_model_real_");
  std::filesystem::create_directories(dir + "/docs");
  test::write_file(dir, "docs/kettle.md",
                   "The Brewmaster kettle boils one litre of water in three minutes.\n\n"
                   "To descale the kettle, fill it with equal parts vinegar and water, boil it, and rinse it twice.\n");
  test::write_file(dir, "pool.jsonl",
                   "{\"prompt\": \"Review: I loved it, absolutely wonderful and delightful!\\nSentiment:\"}\n"
                   "{\"prompt\": \"Review: Terrible, awful, I hated every minute of it.\\nSentiment:\"}\n");
  const std::string model = test::default_model_path();
  const PipelineConfig config = test::config_in(
      dir, "output_dir: out\nlabel_field: label\nsources:\n  - path: pool.jsonl\n    role: unlabelled\n"
           "  - path: docs\n    type: markdown\n    role: documents\n"
           "synthesize: {model: " + model + ", chunk_words: 20, overlap_words: 5, max_tokens: 48, temperature: 0}\n"
           "pseudo_label: {model: " + model + ", threshold: 0.5, labels: [positive, negative]}\n");
  PipelineOptions options;
  options.open_model = pipeline_model_opener();
  const PipelineResult r = run_pipeline(config, options);
  std::map<std::string, std::string> labels;
  size_t pairs = 0;
  for (const std::string& line : test::read_lines(r.output_dir + "/train.jsonl")) {
    const json j = json::parse(line);
    if (j.contains("label")) labels[j["prompt"].get<std::string>().substr(8, 10)] = j["label"];
    if (j.contains("chunk_id")) {
      ++pairs;
      EXPECT_FALSE(j["completion"].get<std::string>().empty());
      EXPECT_TRUE(j["chunk_id"] == "docs/kettle.md#1" || j["chunk_id"] == "docs/kettle.md#2") << j;
    }
  }
  EXPECT_EQ(labels["I loved it"], "positive");
  EXPECT_EQ(labels["Terrible, "], "negative");
  EXPECT_GE(pairs, 1u) << test::read_all(r.output_dir + "/report.md");
}

}  // namespace
}  // namespace whet
