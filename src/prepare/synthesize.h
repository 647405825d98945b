#pragma once
// Retrieval-assisted synthesis: the records of `documents` sources are cut into
// chunks and indexed with BM25. For each chunk the model writes questions; each
// question is answered by the model from the chunks BM25 retrieves for it, and
// the pair is kept only when the chunk it was written from is among them (a
// question its own passage does not answer best is not grounded in it). Every
// pair carries its chunk's id, and the chunks are written out beside the data.
#include <string>
#include <string_view>
#include <vector>

#include "prepare/chunker.h"
#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"
#include "prepare/stage_model.h"

namespace whet {

// What the model is asked.
std::string chunk_question_request(std::string_view chunk);
std::string grounded_answer_request(const std::vector<std::string_view>& passages, std::string_view question);

// Replaces the document records by the pairs made from them, numbered from
// first_new_id (past every record read); returns the chunks.
std::vector<Chunk> synthesize_stage(std::vector<Record>& records, size_t first_new_id, const PipelineConfig& config,
                                    const StageModel& model, Ledger& ledger, const StageProgress& progress);

}  // namespace whet
