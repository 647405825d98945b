#include "prepare/model_augment.h"

#include <fmt/format.h>

#include "core/error.h"
#include "prepare/normalize.h"
#include "prepare/random.h"
#include "prepare/stages.h"
#include "prepare/text_encoding.h"

namespace whet {
namespace {

bool same_text(std::string_view a, std::string_view b) { return lowercase(a) == lowercase(b); }

struct Planned {
  size_t original;  // index into train
  bool question;    // else a paraphrase
  int copy;         // counted from 1 per original and kind
};

}  // namespace

std::string clean_reply(std::string_view reply, bool first_line) {
  std::string text = normalize_whitespace(replace_invalid_utf8(reply));
  if (first_line) text = text.substr(0, text.find('\n'));
  for (std::string_view label : {"Question:", "Paraphrase:", "Answer:", "Rewritten text:"})
    if (text.starts_with(label)) text = normalize_whitespace(text.substr(label.size()));
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = normalize_whitespace(text.substr(1, text.size() - 2));
  return text;
}

std::string paraphrase_request(std::string_view input) {
  return fmt::format("Rewrite the following text so that it says the same thing in other words. "
                     "Reply with the rewritten text only.\n\n{}",
                     input);
}

std::string question_request(std::string_view answer) {
  return fmt::format("Here is an answer:\n\n{}\n\nWrite the question it answers. Reply with the question only.", answer);
}

void model_augment_stage(std::vector<Record>& train, const AugmentConfig& config, uint64_t seed,
                         const StageModel& model, Ledger& ledger, const StageProgress& progress) {
  ledger.begin(stage_name(Stage::ModelAugment), train.size());
  std::vector<Planned> planned;
  std::vector<GenerationRequest> requests;
  const size_t originals = train.size();
  for (size_t i = 0; i < originals; ++i) {
    Record& r = train[i];
    if (r.augmented) continue;
    const std::vector<std::string*> inputs = input_fields(r);
    const std::string* target = target_slot(r);
    if (inputs.empty() || !target) {
      ++ledger.current().counts["records without input or answer, not augmented"];
      continue;
    }
    auto plan = [&](bool question, int copy, std::string user) {
      // Seeded per record and copy, so a rerun asks for exactly the same samples.
      const uint64_t request_seed = record_rng(seed, r.id, (question ? 0x5100 : 0x5000) + uint64_t(copy))();
      requests.push_back({std::move(user), config.max_tokens, config.temperature, request_seed});
      planned.push_back({i, question, copy});
    };
    for (int c = 1; c <= config.paraphrases; ++c) plan(false, c, paraphrase_request(*inputs.back()));
    for (int c = 1; c <= config.questions; ++c) plan(true, c, question_request(*target));
  }
  const std::vector<std::optional<std::string>> replies = model.generate(requests, progress);
  WHET_ASSERT(replies.size() == requests.size());
  for (size_t k = 0; k < planned.size(); ++k) {
    const Planned& p = planned[k];
    const std::string kind = p.question ? "model question" : "model paraphrase";
    if (!replies[k]) {
      ++ledger.current().counts[kind + ": request longer than the model's context, no copy"];
      continue;
    }
    const std::string text = clean_reply(*replies[k], p.question);
    const std::string& input = *input_fields(train[p.original]).back();
    if (text.empty() || same_text(text, input)) {
      ++ledger.current().counts[kind + (text.empty() ? ": empty reply, no copy" : ": reply repeats the input, no copy")];
      continue;
    }
    Record copy = train[p.original];
    *input_fields(copy).back() = text;
    copy.augmented = true;
    ledger.add(copy, {kind, fmt::format("{} of {}", p.copy, train[p.original].example.where())});
    train.push_back(std::move(copy));
  }
  ledger.end(train.size());
}

}  // namespace whet
