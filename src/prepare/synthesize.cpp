#include "prepare/synthesize.h"

#include <xxhash.h>

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "prepare/bm25.h"
#include "prepare/model_augment.h"
#include "prepare/random.h"
#include "prepare/stages.h"
#include "prepare/text_encoding.h"

namespace whet {
namespace {

struct Question {
  size_t chunk;
  std::string text;
};

// Where a chunk's document came from, for the provenance of its pairs.
struct ChunkOrigin {
  std::string file;
  size_t source;
};

Record make_pair_record(const Chunk& chunk, const ChunkOrigin& origin, const std::string& question,
                        const std::string& answer, const std::string& format, size_t id) {
  Record r;
  r.id = id;
  r.group = id;
  r.source = origin.source;
  r.example.file = origin.file;
  r.example.line = chunk.first_line;
  if (format == "chat") {
    r.example.format = DataFormat::Chat;
    r.example.messages = {{"user", question}, {"assistant", answer}};
  } else {
    r.example.format = DataFormat::Completion;
    r.example.prompt = question;
    r.example.completion = answer;
  }
  r.chunk_id = chunk.id;
  r.train_only = true;
  return r;
}

}  // namespace

std::string chunk_question_request(std::string_view chunk) {
  return fmt::format("Here is a passage from a document:\n\n{}\n\nWrite one question that a reader can answer from "
                     "this passage. Reply with the question only.",
                     chunk);
}

std::string grounded_answer_request(const std::vector<std::string_view>& passages, std::string_view question) {
  std::string out = "Answer the question using the passages below.\n\n";
  for (size_t i = 0; i < passages.size(); ++i) out += fmt::format("Passage {}:\n{}\n\n", i + 1, passages[i]);
  return out + fmt::format("Question: {}", question);
}

std::vector<Chunk> synthesize_stage(std::vector<Record>& records, size_t first_new_id, const PipelineConfig& config,
                                    const StageModel& model, Ledger& ledger, const StageProgress& progress) {
  const SynthesizeConfig& c = config.synthesize;
  ledger.begin(stage_name(Stage::Synthesize), records.size());
  std::vector<Chunk> chunks;
  std::vector<ChunkOrigin> origins;  // per chunk
  std::vector<Reason> reasons(records.size());
  size_t next_id = first_new_id;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    WHET_ASSERT(r.id < first_new_id);
    const SourceConfig& source = config.sources[r.source];
    if (source.role != SourceRole::Documents) continue;
    // A file read as one record is named by its path; paragraphs by where they start.
    // File names come from folder listings and need not be UTF-8; ids are written as JSON.
    const std::string name = replace_invalid_utf8(source.paragraphs ? r.example.where() : r.example.file);
    std::vector<Chunk> made = chunk_document(r.example.text, name, {c.chunk_words, c.overlap_words});
    for (Chunk& chunk : made) {
      chunk.first_line += r.example.line - 1;  // lines of the file, not of the paragraph
      origins.push_back({r.example.file, r.source});
      chunks.push_back(std::move(chunk));
    }
    reasons[i] = {"document chunked for synthesis", fmt::format("{} chunk(s)", made.size())};
  }
  drop_marked(records, ledger, reasons);
  ledger.current().counts["chunks"] = chunks.size();
  if (chunks.empty()) {
    ledger.end(records.size());
    return chunks;
  }

  std::vector<std::string> texts;
  for (const Chunk& chunk : chunks) texts.push_back(chunk.text);
  const Bm25Index index(texts);
  // Two rounds of generation share one progress count: questions, then answers.
  const size_t total = chunks.size() * size_t(c.questions) * 2;
  std::vector<GenerationRequest> asks;
  for (size_t k = 0; k < chunks.size(); ++k) {
    const uint64_t chunk_key = XXH3_64bits(chunks[k].id.data(), chunks[k].id.size());
    for (int q = 0; q < c.questions; ++q)
      asks.push_back({chunk_question_request(chunks[k].text), c.max_tokens, c.temperature,
                      record_rng(config.seed, chunk_key, 0x5900 + uint64_t(q))()});
  }
  const std::vector<std::optional<std::string>> asked =
      model.generate(asks, [&](size_t done, size_t) { if (progress) progress(done, total); });

  std::vector<Question> grounded;
  std::vector<GenerationRequest> answers_asked;
  for (size_t a = 0; a < asked.size(); ++a) {
    const size_t k = a / size_t(c.questions);
    if (!asked[a]) {
      ++ledger.current().counts["chunk too long for the model's context, no question"];
      continue;
    }
    std::string question = clean_reply(*asked[a], /*first_line=*/true);
    if (question.empty()) {
      ++ledger.current().counts["empty question, no pair"];
      continue;
    }
    const std::vector<Bm25Hit> hits = index.search(question, c.retrieve);
    if (std::none_of(hits.begin(), hits.end(), [&](const Bm25Hit& h) { return h.document == k; })) {
      ++ledger.current().counts["question not grounded in its chunk (not retrieved), no pair"];
      continue;
    }
    std::vector<std::string_view> passages;
    for (const Bm25Hit& h : hits) passages.push_back(chunks[h.document].text);
    answers_asked.push_back({grounded_answer_request(passages, question), c.max_tokens, 0, 0});
    grounded.push_back({k, std::move(question)});
  }
  const size_t questions_done = asked.size();
  const std::vector<std::optional<std::string>> answers = model.generate(
      answers_asked, [&](size_t done, size_t) { if (progress) progress(questions_done + done, questions_done + answers_asked.size()); });

  for (size_t g = 0; g < grounded.size(); ++g) {
    if (!answers[g]) {
      ++ledger.current().counts["retrieved passages too long for the model's context, no pair"];
      continue;
    }
    const std::string answer = clean_reply(*answers[g], /*first_line=*/false);
    if (answer.empty()) {
      ++ledger.current().counts["empty answer, no pair"];
      continue;
    }
    const Chunk& chunk = chunks[grounded[g].chunk];
    Record pair = make_pair_record(chunk, origins[grounded[g].chunk], grounded[g].text, answer, c.format, next_id++);
    ledger.add(pair, {"question/answer pair", "from chunk " + chunk.id});
    records.push_back(std::move(pair));
  }
  ledger.end(records.size());
  return chunks;
}

}  // namespace whet
