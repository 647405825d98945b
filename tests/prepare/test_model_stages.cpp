// The model-based stages' own logic (which records they ask about, what they
// keep, how they account for it), driven by a scripted model whose replies
// follow from the request text. The same stages on real models are tested in
// tests/eval/test_pipeline_model.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "prepare/model_augment.h"
#include "prepare/pipeline.h"
#include "prepare/pseudo_label.h"
#include "prepare/sources.h"
#include "prepare/split.h"
#include "prepare/synthesize.h"
#include "pipeline_test_support.h"

namespace whet {
namespace {

using json = nlohmann::json;

// The paragraph of `text` that follows `marker`.
std::string after(const std::string& text, const std::string& marker) {
  const size_t at = text.find(marker);
  if (at == std::string::npos) return "";
  const std::string rest = text.substr(at + marker.size());
  return rest.substr(0, rest.find("\n\n"));
}

std::string first_words(const std::string& text, size_t n) {
  std::istringstream in(text);
  std::string word, out;
  for (size_t i = 0; i < n && in >> word; ++i) out += (out.empty() ? "" : " ") + word;
  return out;
}

// Questions repeat the start of their passage (so BM25 finds it) unless the
// passage mentions "vague", whose questions name nothing in it; answers quote
// the first passage; paraphrases reverse the word order; "silent" gets no reply.
std::string scripted_reply(const GenerationRequest& r) {
  if (r.user.find("silent") != std::string::npos) return "   ";
  if (r.user.starts_with("Here is a passage")) {
    const std::string passage = after(r.user, "\n\n");
    if (passage.find("vague") != std::string::npos) return "Question: zebra quantum?\nmore text";
    return "\"What about " + first_words(passage, 6) + "?\"";
  }
  if (r.user.starts_with("Answer the question")) return "From the passage: " + first_words(after(r.user, "Passage 1:\n"), 5);
  if (r.user.starts_with("Rewrite")) {
    std::istringstream in(after(r.user, "\n\n"));
    std::vector<std::string> words{std::istream_iterator<std::string>(in), {}};
    std::string out;
    for (auto w = words.rbegin(); w != words.rend(); ++w) out += (out.empty() ? "" : " ") + *w;
    return out;
  }
  if (r.user.starts_with("Here is an answer")) return "Which answer is " + first_words(after(r.user, "\n\n"), 2) + "?";
  return "unexpected request";
}

// "good" prompts are positive, "bad" negative, "lengthy" ones too long to
// score, anything else a coin toss.
StageModel scripted_model(std::vector<GenerationRequest>* seen = nullptr) {
  StageModel m;
  m.generate = [seen](const std::vector<GenerationRequest>& requests, const StageProgress& progress) {
    std::vector<std::optional<std::string>> out;
    for (const GenerationRequest& r : requests) {
      if (seen) seen->push_back(r);
      // "lengthy" stands for a request beyond the model's context.
      if (r.user.find("lengthy") != std::string::npos) out.emplace_back();
      else out.push_back(scripted_reply(r));
      if (progress) progress(out.size(), requests.size());
    }
    return out;
  };
  m.label_probabilities = [](const std::vector<const Record*>& records, const std::vector<std::string>& labels,
                             const StageProgress&) {
    EXPECT_EQ(labels, (std::vector<std::string>{"negative", "positive"}));
    std::vector<std::vector<double>> out;
    for (const Record* r : records) {
      const std::string text = record_content(*r);
      out.push_back(text.find("lengthy") != std::string::npos ? std::vector<double>{}
                    : text.find("good") != std::string::npos  ? std::vector<double>{0.03, 0.97}
                    : text.find("bad") != std::string::npos   ? std::vector<double>{0.92, 0.08}
                                                              : std::vector<double>{0.5, 0.5});
    }
    return out;
  };
  return m;
}

TEST(DataModelStages, UnlabelledLinesAreReadAsPromptsWithoutAnswers) {
  const std::string dir = test::data_scratch();
  test::write_file(dir, "pool.jsonl",
                   "{\"prompt\": \"Review: good food. Sentiment:\"}\n"
                   "{\"messages\": [{\"role\": \"user\", \"content\": \"How was it?\"}]}\n"
                   "{\"prompt\": \"x\", \"completion\": \"already\"}\n"
                   "{\"instruction\": \"Classify\", \"input\": \"bad service\"}\n"
                   "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}]}\n"
                   "{\"text\": \"no prompt\"}\n");
  const PipelineConfig config = test::config_in(
      dir, "label_field: label\nsources:\n  - path: pool.jsonl\n    role: unlabelled\npseudo_label:\n  model: m.gguf\n");
  Ledger ledger;
  const std::vector<Record> records = read_sources(config, false, ledger);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].example.prompt, "Review: good food. Sentiment:");
  EXPECT_EQ(records[0].example.completion, "");
  EXPECT_EQ(records[1].example.messages.back().role, "assistant");
  EXPECT_EQ(records[1].example.messages.back().content, "");
  EXPECT_EQ(records[2].example.format, DataFormat::Alpaca);
  ASSERT_EQ(ledger.dropped().size(), 3u);
  EXPECT_EQ(ledger.dropped()[0].where, "pool.jsonl:3");
  EXPECT_NE(ledger.dropped()[0].reason.find("already has a completion"), std::string::npos);
  EXPECT_NE(ledger.dropped()[1].reason.find("already has an assistant reply"), std::string::npos);
  EXPECT_NE(ledger.dropped()[2].reason.find("expected \"prompt\""), std::string::npos);
}

// Hostile and mismatched unlabelled lines are rejected on their line, never a crash.
TEST(DataModelStages, UnlabelledLinesThatCannotBeLabelledAreRejected) {
  const std::string dir = test::data_scratch();
  const std::string deep = "{\"prompt\": \"x\", \"a\": " + std::string(100000, '[') + std::string(100000, ']') + "}\n";
  test::write_file(dir, "pool.jsonl",
                   deep + "{\"messages\": [{\"role\": 5, \"content\": \"x\"}]}\n"
                          "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}\n"
                          "{\"prompt\": \"fine\"}\n[1, 2]\n");
  const PipelineConfig config = test::config_in(
      dir, "label_field: completion\nsources:\n  - path: pool.jsonl\n    role: unlabelled\npseudo_label:\n  model: m\n");
  Ledger ledger;
  const std::vector<Record> records = read_sources(config, false, ledger);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].example.prompt, "fine");
  ASSERT_EQ(ledger.dropped().size(), 4u);
  EXPECT_NE(ledger.dropped()[0].reason.find("nest"), std::string::npos) << ledger.dropped()[0].reason;
  // label_field completion: the label can only be a completion, so conversations are refused.
  EXPECT_NE(ledger.dropped()[1].reason.find("expected \"prompt\" to label"), std::string::npos) << ledger.dropped()[1].reason;
  EXPECT_NE(ledger.dropped()[2].reason.find("label_field completion"), std::string::npos);
  EXPECT_NE(ledger.dropped()[3].reason.find("JSON object"), std::string::npos) << ledger.dropped()[3].reason;
  test::expect_error([] { parse_pipeline_config("sources:\n  - path: a.jsonl\n    format: text\n    role: unlabelled\n", "p.yaml"); },
                     {"sources[0].role", "not format: text"});
}

TEST(DataModelStages, PseudoLabelsKeepConfidentRecordsAsIfTheyCarriedTheLabel) {
  const std::string dir = test::data_scratch();
  test::write_file(dir, "train.jsonl",
                   "{\"prompt\": \"Review: fine. Sentiment:\", \"completion\": \"x\", \"label\": \"positive\"}\n"
                   "{\"prompt\": \"Review: awful. Sentiment:\", \"completion\": \"x\", \"label\": \"negative\"}\n");
  test::write_file(dir, "pool.jsonl",
                   "{\"prompt\": \"Review: good food. Sentiment:\"}\n{\"prompt\": \"Review: meh. Sentiment:\"}\n"
                   "{\"messages\": [{\"role\": \"user\", \"content\": \"bad service\"}]}\n"
                   "{\"prompt\": \"Review: a lengthy one. Sentiment:\"}\n");
  const PipelineConfig config =
      test::config_in(dir, "label_field: label\nsources:\n  - path: train.jsonl\n  - path: pool.jsonl\n    role: unlabelled\n"
                       "pseudo_label:\n  model: m.gguf\n  threshold: 0.9\n");
  Ledger ledger;
  std::vector<Record> records = read_sources(config, false, ledger);
  const StageModel model = scripted_model();
  std::set<std::string> given;
  collect_given_labels(records, config, given);
  EXPECT_EQ(pseudo_label_choices(given, config, model), (std::vector<std::string>{"negative", "positive"}));
  pseudo_label_stage(records, given, config, model, ledger, {});
  ASSERT_EQ(records.size(), 4u);
  const Record& good = records[2];
  EXPECT_EQ(good.label, "positive");
  EXPECT_EQ(good.example.completion, " positive");  // as {"prompt", "label"} is read
  EXPECT_TRUE(good.train_only);
  EXPECT_DOUBLE_EQ(good.pseudo_label_confidence, 0.97);
  EXPECT_EQ(good.marks.back(), "pseudo_label: pseudo-labelled 'positive' at 0.9700");
  const Record& bad = records[3];
  EXPECT_EQ(bad.label, "negative");
  EXPECT_EQ(bad.example.messages.back().content, "negative");
  EXPECT_FALSE(records[0].train_only);
  const StageReport& stage = ledger.stages().back();
  EXPECT_EQ(stage.in, 6u);
  EXPECT_EQ(stage.out, 4u);
  EXPECT_EQ(stage.dropped.at("below the confidence threshold"), 1u);
  EXPECT_EQ(stage.dropped.at("too long for the labelling model's context"), 1u);
  EXPECT_EQ(stage.changed.at("pseudo-labelled 'positive'"), 1u);
  EXPECT_NE(ledger.dropped()[0].reason.find("at 0.500 < 0.9"), std::string::npos) << ledger.dropped()[0].reason;
  const json line = json::parse(record_to_jsonl(good, "label"));
  EXPECT_EQ(line["label"], "positive");
  EXPECT_DOUBLE_EQ(line["pseudo_label_confidence"].get<double>(), 0.97);
  // Labels in a training field: the answer is the label itself.
  Record again = records[2];
  set_label(again, "completion", "neutral");
  EXPECT_EQ(again.example.completion, "neutral");
}

TEST(DataModelStages, TooFewLabelsToChooseFromIsAnError) {
  const std::string dir = test::data_scratch();
  test::write_file(dir, "pool.jsonl", "{\"prompt\": \"a\"}\n");
  const PipelineConfig config = test::config_in(
      dir, "label_field: label\nsources:\n  - path: pool.jsonl\n    role: unlabelled\npseudo_label:\n  model: m.gguf\n");
  Ledger ledger;
  std::set<std::string> given;
  collect_given_labels(read_sources(config, false, ledger), config, given);
  test::expect_error([&] { pseudo_label_choices(given, config, scripted_model()); },
                     {"p.yaml", "pseudo_label.labels", "0 label(s)"});
}

TEST(DataModelStages, ModelMadeRecordsTrainOnlyAndNeverBesideAHeldOutTwin) {
  std::vector<Record> records;
  for (size_t i = 0; i < 10; ++i) records.push_back(test::completion("q" + std::to_string(i), "a", i));
  Record twin = test::completion("q0 again", "a", 10);
  twin.train_only = true;
  Record other = test::completion("fresh", "a", 11);
  other.train_only = true;
  SplitConfig config;
  config.test = 5;
  auto split = [&](Ledger& ledger) {
    Spool spool(test::data_scratch(), DedupConfig{}, 1, "");
    spool.add(records);
    return split_stage(spool.take_keys(), spool, config, "", 1, ledger);
  };
  // Find a record the split holds out, then give the model-made twin its group.
  Ledger probe;
  twin.group = split(probe)[size_t(Split::Test)].front().group;
  records.push_back(twin);
  records.push_back(other);
  Ledger ledger;
  const SplitKeys parts = split(ledger);
  EXPECT_EQ(parts[size_t(Split::Test)].size(), 5u);
  const std::vector<RecordKey>& train = parts[size_t(Split::Train)];
  ASSERT_EQ(train.size(), 6u);
  EXPECT_EQ(train.back().id, 11u);
  EXPECT_TRUE(
      std::is_sorted(train.begin(), train.end(), [](const RecordKey& a, const RecordKey& b) { return a.id < b.id; }));
  EXPECT_EQ(ledger.dropped().back().where, "t.jsonl:11");
  EXPECT_EQ(ledger.stages().back().dropped.at("model-made near duplicate of a held-out record"), 1u);
  EXPECT_EQ(ledger.stages().back().out, 11u);
}

TEST(DataModelStages, SynthesisKeepsGroundedPairsWithTheirChunkIds) {
  const std::string dir = test::data_scratch();
  std::filesystem::create_directories(dir + "/docs");
  test::write_file(dir, "docs/tides.md",
                   "The moon pulls the oceans and raises two tidal bulges every day.\n\n"
                   "Spring tides happen when the sun and moon align.\n");
  test::write_file(dir, "docs/vague.md", "---\ntitle: x\n---\n\nA vague remark about nothing in particular, written once.\n");
  const PipelineConfig config = test::config_in(dir,
                                            "sources:\n  - path: docs\n    type: markdown\n    role: documents\n"
                                            "synthesize:\n  model: m.gguf\n  chunk_words: 12\n  overlap_words: 2\n"
                                            "  retrieve: 1\n  questions: 1\n");
  Ledger ledger;
  std::vector<Record> records = read_sources(config, false, ledger);
  ASSERT_EQ(records.size(), 2u);
  std::vector<GenerationRequest> seen;
  const std::vector<Chunk> chunks = synthesize_stage(records, 2, config, scripted_model(&seen), ledger, {});
  ASSERT_EQ(chunks.size(), 3u);  // the two paragraphs do not fit one chunk together
  EXPECT_EQ(chunks[0].id, "docs/tides.md#1");
  EXPECT_EQ(chunks.back().id, "docs/vague.md#1");
  const StageReport& stage = ledger.stages().back();
  EXPECT_EQ(stage.dropped.at("document chunked for synthesis"), 2u);
  EXPECT_EQ(stage.counts.at("chunks"), 3u);
  EXPECT_EQ(stage.counts.at("question not grounded in its chunk (not retrieved), no pair"), 1u);
  ASSERT_EQ(records.size(), 2u);
  for (size_t k = 0; k < records.size(); ++k) {
    const Record& pair = records[k];
    EXPECT_EQ(pair.chunk_id, chunks[k].id);
    EXPECT_TRUE(pair.train_only);
    EXPECT_EQ(pair.example.format, DataFormat::Completion);
    EXPECT_EQ(pair.example.prompt, "What about " + first_words(chunks[k].text, 6) + "?");
    EXPECT_EQ(pair.example.completion, "From the passage: " + first_words(chunks[k].text, 5));
    EXPECT_EQ(pair.marks.back(), "synthesize: question/answer pair from chunk " + chunks[k].id);
  }
  EXPECT_EQ(records[1].example.where(), "docs/tides.md:3");
  EXPECT_EQ(chunks.back().first_line, 5u);  // after the front matter and the blank line
  // Questions are sampled with seeds of their own; answers are greedy.
  EXPECT_GT(seen.front().temperature, 0);
  EXPECT_NE(seen[0].seed, seen[1].seed);
  EXPECT_EQ(seen.back().temperature, 0);
  EXPECT_EQ(json::parse(record_to_jsonl(records[0], ""))["chunk_id"], "docs/tides.md#1");
}

TEST(DataModelStages, ModelAugmentationRewritesInputsAndCountsUselessReplies) {
  std::vector<Record> train = {test::completion("alpha beta gamma", "the answer", 0),
                               test::completion("solo", "short", 1), test::completion("silent please", "silent", 2),
                               test::record_from("{\"text\": \"plain\"}", 3), test::completion("lengthy", "lengthy", 4)};
  AugmentConfig config;
  config.paraphrases = 1;
  config.questions = 1;
  Ledger ledger;
  model_augment_stage(train, config, 5, scripted_model(), ledger, {});
  const StageReport& stage = ledger.stages().back();
  EXPECT_EQ(stage.counts.at("records without input or answer, not augmented"), 1u);
  EXPECT_EQ(stage.counts.at("model paraphrase: reply repeats the input, no copy"), 1u);  // "solo" reversed
  EXPECT_EQ(stage.counts.at("model paraphrase: empty reply, no copy"), 1u);
  EXPECT_EQ(stage.counts.at("model question: empty reply, no copy"), 1u);
  EXPECT_EQ(stage.counts.at("model paraphrase: request longer than the model's context, no copy"), 1u);
  EXPECT_EQ(stage.counts.at("model question: request longer than the model's context, no copy"), 1u);
  ASSERT_EQ(train.size(), 8u);
  EXPECT_EQ(train[5].example.prompt, "gamma beta alpha");
  EXPECT_EQ(train[5].example.completion, "the answer");
  EXPECT_TRUE(train[5].augmented);
  EXPECT_EQ(train[6].example.prompt, "Which answer is the answer?");
  EXPECT_EQ(train[7].example.prompt, "Which answer is short?");
  EXPECT_EQ(train[6].marks.back(), "model_augment: model question 1 of t.jsonl:1");
  EXPECT_EQ(stage.added.at("model paraphrase"), 1u);
  EXPECT_EQ(stage.added.at("model question"), 2u);
}

TEST(DataModelStages, RepliesAreCleanedToTrainableText) {
  EXPECT_EQ(clean_reply("  Question:  What is  it?\n\nMore", true), "What is it?");
  EXPECT_EQ(clean_reply("\"Quoted reply\"", false), "Quoted reply");
  EXPECT_EQ(clean_reply("First line\nsecond line", false), "First line\nsecond line");
  EXPECT_EQ(clean_reply(" \n ", true), "");
  EXPECT_EQ(clean_reply("cut \xE2\x82", false), "cut \xEF\xBF\xBD\xEF\xBF\xBD");  // a character the reply ended inside
}

TEST(DataModelStages, ConfigChecksRolesAndModels) {
  auto parse = [](const std::string& yaml) { return parse_pipeline_config(yaml, "dir/p.yaml"); };
  test::expect_error([&] { parse("sources:\n  - path: a.jsonl\n    role: documents\n"); }, {"p.yaml:3", "sources[0].role", "text and markdown"});
  test::expect_error([&] { parse("sources:\n  - path: d\n    type: text\n    role: unlabelled\n"); }, {"sources[0].role"});
  test::expect_error([&] { parse("label_field: l\nsources:\n  - path: a.jsonl\n    role: unlabelled\n"); },
                     {"pseudo_label.model"});
  test::expect_error([&] { parse("sources:\n  - path: a.jsonl\n    role: unlabelled\npseudo_label: {model: m}\n"); },
                     {"label_field"});
  test::expect_error([&] { parse("sources:\n  - path: d\n    type: text\n    role: documents\n"); }, {"synthesize.model"});
  test::expect_error([&] { parse("sources:\n  - path: a.jsonl\nsynthesize: {model: m}\n"); }, {"p.yaml:3", "role: documents"});
  test::expect_error([&] { parse("sources:\n  - path: a.jsonl\npseudo_label: {model: m}\n"); }, {"role: unlabelled"});
  test::expect_error([&] { parse("sources:\n  - path: a.jsonl\naugment: {paraphrases: 1}\n"); }, {"augment.model"});
  test::expect_error([&] { parse("sources:\n  - path: d\n    type: text\n    role: documents\nsynthesize: {model: m, chunk_words: 10, overlap_words: 10}\n"); },
                     {"synthesize.overlap_words"});
  test::expect_error([&] { parse("sources:\n  - path: d\n    type: text\n    role: documents\nsynthesize: {model: m, retreive: 2}\n"); },
                     {"synthesize.retreive", "retrieve"});
}

// The whole pipeline with every model-based stage: every input line is in the
// trace, every output line reads as training data, and a rerun is identical.
TEST(DataModelStages, PipelineAccountsForEveryRecordAndRerunsIdentically) {
  const std::string dir = test::data_scratch();
  std::filesystem::create_directories(dir + "/docs");
  test::write_file(dir, "docs/a.txt", "Copper conducts heat well and is used in cooking pans.\n\nIron rusts in wet air.\n");
  test::write_file(dir, "train.jsonl",
                   "{\"prompt\": \"Review: lovely. Sentiment:\", \"completion\": \"positive\"}\n"
                   "{\"prompt\": \"Review: dreadful. Sentiment:\", \"completion\": \"negative\"}\n"
                   "{\"prompt\": \"Review: superb. Sentiment:\", \"completion\": \"positive\"}\n");
  test::write_file(dir, "pool.jsonl", "{\"prompt\": \"Review: good. Sentiment:\"}\n{\"prompt\": \"Review: so-so. Sentiment:\"}\n");
  const std::string yaml =
      "output_dir: out\nlabel_field: completion\nsources:\n  - path: train.jsonl\n  - path: pool.jsonl\n    role: unlabelled\n"
      "  - path: docs\n    type: text\n    role: documents\n    unit: paragraph\n"
      "synthesize: {model: m.gguf, questions: 2}\npseudo_label: {model: m.gguf}\n"
      "augment: {model: m.gguf, paraphrases: 1}\nsplit: {test: 1}\n";
  test::write_file(dir, "m.gguf", "");  // scripted below; only its path must exist
  const PipelineConfig config = test::config_in(dir, yaml);
  std::vector<std::string> opened, progressed;
  PipelineOptions options;
  options.open_model = [&](const ModelRef& ref) {
    opened.push_back(ref.path);
    return scripted_model();
  };
  options.on_progress = [&](const std::string& stage, size_t, size_t) {
    if (progressed.empty() || progressed.back() != stage) progressed.push_back(stage);
  };
  const PipelineResult r = run_pipeline(config, options);
  EXPECT_EQ(opened, std::vector<std::string>(3, dir + "/m.gguf"));
  // The scripted labeller is silent, and files this small read before the first report.
  EXPECT_EQ(progressed, (std::vector<std::string>{"synthesize", "model_augment"}));
  ASSERT_EQ(r.chunks.size(), 2u);
  EXPECT_EQ(r.chunks[1].id, "docs/a.txt:3#1");
  // 3 labelled + 2 pool + 2 paragraphs read; paragraphs become 2 x 2 questions, of which duplicates go.
  size_t traced = 0;
  std::set<std::string> fates;
  for (const std::string& line : test::read_lines(r.output_dir + "/trace.jsonl")) {
    const json t = json::parse(line);
    ++traced;
    fates.insert(t["fate"].get<std::string>() + (t.contains("stage") ? " at " + t["stage"].get<std::string>() : ""));
  }
  EXPECT_TRUE(fates.count("dropped at synthesize"));
  EXPECT_TRUE(fates.count("dropped at pseudo_label"));
  const std::vector<std::string> test_split = test::read_lines(r.output_dir + "/test.jsonl");
  ASSERT_EQ(test_split.size(), 1u);
  EXPECT_FALSE(json::parse(test_split[0]).contains("pseudo_label_confidence"));
  EXPECT_FALSE(json::parse(test_split[0]).contains("chunk_id"));
  size_t pairs = 0, pseudo = 0;
  for (const std::string& line : test::read_lines(r.output_dir + "/train.jsonl")) {
    const Example e = parse_example(line, DataFormat::Auto, "train.jsonl", 1);  // trainable as written
    EXPECT_FALSE(e.completion.empty());
    const json j = json::parse(line);
    pairs += j.contains("chunk_id");
    pseudo += j.contains("pseudo_label_confidence");
  }
  EXPECT_GE(pairs, 2u);
  EXPECT_EQ(pseudo, 2u);  // the pseudo-labelled record and its paraphrase
  EXPECT_EQ(traced, r.splits[0].lengths.size() + r.splits[1].lengths.size() + r.splits[2].lengths.size() +
                        r.ledger.dropped().size());
  const std::string manifest = test::read_all(r.output_dir + "/manifest.json");
  EXPECT_NE(manifest.find("chunks.jsonl"), std::string::npos);
  PipelineOptions again = options;
  again.output_dir = dir + "/again";
  run_pipeline(config, again);
  for (const char* file : {"train.jsonl", "test.jsonl", "trace.jsonl", "manifest.json", "chunks.jsonl", "report.md"})
    EXPECT_EQ(test::read_all(r.output_dir + "/" + file), test::read_all(dir + "/again/" + file)) << file;
}

TEST(DataModelStages, ModelStagesWithoutModelsFailBeforeWritingAnything) {
  const std::string dir = test::data_scratch();
  test::write_file(dir, "pool.jsonl", "{\"prompt\": \"a\"}\n");
  const PipelineConfig config = test::config_in(
      dir, "output_dir: out\nlabel_field: label\nsources:\n  - path: pool.jsonl\n    role: unlabelled\n"
           "pseudo_label: {model: m.gguf, labels: [a, b]}\n");
  test::expect_error([&] { run_pipeline(config, {}); }, {"p.yaml", "pseudo_label.model", dir + "/m.gguf not found"});
  test::write_file(dir, "m.gguf", "");
  test::expect_error([&] { run_pipeline(config, {}); }, {"p.yaml", "pseudo_label", "whet data prepare"});
  EXPECT_FALSE(std::filesystem::exists(dir + "/out"));
}

}  // namespace
}  // namespace whet
