#pragma once
// A record is one training example on its way through the pipeline: the
// Example as the training loader reads it, its label when the data is
// labelled, and its provenance (source, file, line, and a mark from every stage
// that changed it), so that each output line can be traced back.
#include <cstddef>
#include <string>
#include <vector>

#include "data/example.h"

namespace whet {

struct Record {
  Example example;                 // format, fields, and the file and line it came from
  std::string label;               // the label when it lives in a field of its own; see label_of
  size_t source = 0;               // index into PipelineConfig::sources
  size_t id = 0;                   // order of reading, over all sources: the record's name in the trace
  size_t group = 0;                // near-duplicate cluster; the split keeps a group on one side
  size_t tokens = 0;               // training tokens (filled when a tokenizer is known)
  bool augmented = false;          // made by the augmentation stage (or a mixing copy)
  // Made or labelled by a model: it may train, but is never held out, since
  // validation and test must measure against data people wrote and labelled.
  bool train_only = false;
  std::string chunk_id;                  // synthesized: the document chunk the pair came from (written out)
  double pseudo_label_confidence = -1;   // pseudo-labelled: the model's probability of the label (written out)
  std::vector<std::string> marks;  // "stage: what changed", in order
};

// Where labels live. A label field named after a training field ("completion" or
// "output") makes that field the label (classification as completion); any other
// name is a field of its own, read from the JSONL key or CSV column of that name
// and written back under it.
bool label_is_training_field(const std::string& label_field);
const std::string& label_of(const Record& record, const std::string& label_field);
std::string* label_slot(Record& record, const std::string& label_field);  // nullptr: the record has no such field

// The field a label or answer goes in: the completion, the last assistant turn
// (chat and Alpaca); nullptr for text records.
std::string* target_slot(Record& record);
// Gives an unlabelled record its label, as if its line had carried it: under
// label_field when that is a field of its own (and then in the target as the
// loader puts it: after a space for a raw prompt), else in the target itself.
void set_label(Record& record, const std::string& label_field, const std::string& label);

// Every free-text field of the record (text; prompt and completion; message
// contents), for the stages that rewrite text.
std::vector<std::string*> text_fields(Record& record);
// The fields that are model input rather than target (text: none; prompt; user
// and system messages), for augmentation, which must not teach wrong answers.
std::vector<std::string*> input_fields(Record& record);
// All text of the record in one string, roles included, for deduplication.
std::string record_text(const Record& record);
// The text fields alone, one per line, for comparisons across formats (leakage).
std::string record_content(const Record& record);

// The record as one JSONL line in its training format (Alpaca as instruction and
// output), with the label under label_field when it is a field of its own.
std::string record_to_jsonl(const Record& record, const std::string& label_field);

}  // namespace whet
