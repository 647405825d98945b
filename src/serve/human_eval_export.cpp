#include "serve/human_eval_export.h"

#include <map>

#include "core/error.h"

namespace whet::serve {

using nlohmann::json;

FeedbackDataset human_eval_dataset(const std::vector<HumanEvalPrompt>& prompts,
                                   const std::vector<HumanEvalAnswer>& answers,
                                   const std::vector<HumanEvalItem>& items,
                                   const std::vector<HumanEvalRating>& ratings) {
  std::map<int64_t, const json*> prompt_of;
  for (const HumanEvalPrompt& p : prompts) prompt_of[p.index] = &p.prompt;
  std::map<std::pair<int64_t, std::string>, const std::string*> answer_of;
  for (const HumanEvalAnswer& a : answers) answer_of[{a.prompt_index, a.model}] = &a.text;
  std::map<std::string, const HumanEvalItem*> item_of;
  for (const HumanEvalItem& item : items) item_of[item.id] = &item;

  FeedbackDataset out;
  for (const HumanEvalRating& r : ratings) {
    if (r.choice == "tie") {
      count(out.skipped, "ties (neither answer preferred: not a pair)");
      continue;
    }
    if (r.choice == "both_bad") {
      count(out.skipped, "both_bad (neither answer is one to prefer: not a pair)");
      continue;
    }
    const HumanEvalItem& item = *item_of.at(r.item_id);
    const json& prompt = *prompt_of.at(item.prompt_index);
    if (!prompt.is_array()) {
      count(out.skipped, "ratings of a raw-text prompt (OpenAI's preference format holds messages)");
      continue;
    }
    const std::string& preferred = r.choice == "A" ? r.model_a : r.model_b;
    const std::string& rejected = r.choice == "A" ? r.model_b : r.model_a;
    const std::string& preferred_text = *answer_of.at({item.prompt_index, preferred});
    const std::string& rejected_text = *answer_of.at({item.prompt_index, rejected});
    if (preferred_text == rejected_text) {
      count(out.skipped, "ratings of two answers with the same text");
      continue;
    }
    const json line = {{"input", {{"messages", prompt}}},
                       {"preferred_output", assistant(preferred_text)},
                       {"non_preferred_output", assistant(rejected_text)}};
    out.lines.push_back(line_text(line));
    count(out.written, "ratings that chose A or B");
  }
  return out;
}

FeedbackDataset human_eval_session_dataset(JobStore& store, const std::string& session_id, const std::string& where) {
  const auto session = store.get_human_eval_session(session_id);
  if (!session) fail(where, "no human evaluation session '{}'", session_id);
  if (session->status != "ready")
    fail(where, "human evaluation session '{}' is {}, not ready: its answers are not all made", session_id,
         session->status);
  return human_eval_dataset(store.human_eval_prompts(session_id), store.human_eval_answers(session_id),
                            store.human_eval_items(session_id), store.human_eval_ratings(session_id));
}

FeedbackDataset export_human_eval(const std::string& data_dir, const std::string& session_id,
                                  const std::string& output) {
  const auto store = open_data_store(data_dir);
  FeedbackDataset dataset = human_eval_session_dataset(*store, session_id, data_dir + "/whet.sqlite (--human-eval)");
  write_dataset(dataset, output);
  return dataset;
}

}  // namespace whet::serve
