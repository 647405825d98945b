#include "data/prompt_dataset.h"

#include <fmt/format.h>

#include "core/error.h"
#include "data/json_line.h"
#include "data/jsonl_reader.h"
#include "data/preference_example.h"
#include "data/tokenize_preference.h"

namespace whet {

std::string PromptDataset::summary(const std::string& path) const {
  return fmt::format("{}: {} prompts from {} lines ({} blank, {} skipped{}).{}", path, prompts.size(), account.lines,
                     account.blank_lines, account.skipped.size(),
                     truncated ? fmt::format(", {} cut to fit", truncated) : "", account.skipped_summary());
}

nlohmann::json parse_prompt_object(std::string_view line, const std::string& where) {
  nlohmann::json object = parse_json_line(line, where);
  if (!object.is_object()) fail(where, "expected a JSON object, got {}", object.type_name());
  return object;
}

void check_prompt_line(std::string_view line, const std::string& where) {
  parse_rl_prompt(parse_prompt_object(line, where), where);
}

PromptDataset load_prompt_dataset(const std::string& path, const Tokenizer& tokenizer, const ChatTemplate& chat,
                                  int sequence_len, int max_completion_length, bool strict) {
  PromptDataset out;
  read_jsonl_records(path, strict, out.account, [&](std::string_view line, size_t number) {
    const std::string where = fmt::format("{}:{}", path, number);
    nlohmann::json object = parse_prompt_object(line, where);
    std::vector<int32_t> prompt = tokenize_prompt(parse_rl_prompt(object, where), path, number, tokenizer, chat);
    // The prompt and the longest completion fit in a training sequence.
    const LengthFit fit = fit_prompt(prompt, size_t(max_completion_length), sequence_len, /*drop_long=*/false,
                                     tokenizer.spec().bos_id);
    if (fit == LengthFit::Dropped)
      fail(where, "sequence_len {} leaves no room for a prompt beside max_completion_length {}", sequence_len,
           max_completion_length);
    if (fit == LengthFit::Truncated) ++out.truncated;
    out.prompts.push_back({where, std::move(prompt), std::move(object)});
  });
  if (out.prompts.empty()) fail(path, "no prompt in the file ({} lines){}", out.account.lines, out.account.skipped_summary());
  return out;
}

}  // namespace whet
