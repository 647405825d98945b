#include "serve/drift_reference.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <unordered_map>
#include <variant>

#include <fmt/format.h>

#include "core/error.h"
#include "data/detect_format.h"
#include "data/jsonl_reader.h"
#include "data/preference_example.h"
#include "data/prompt_dataset.h"
#include "eval/drift_stats.h"
#include "generate/prompt.h"
#include "train/train_config.h"

namespace whet::serve {

namespace fs = std::filesystem;

namespace {

// The first line dump_train_config writes: what tells a run's config.yaml from any other.
constexpr std::string_view kRunConfigHeader = "# whet training configuration, every key resolved";

bool is_run_config(const fs::path& path) {
  std::ifstream in(path);
  std::string first;
  return in && std::getline(in, first) && first.starts_with(kRunConfigHeader);
}

// The folder `whet train` ran in: the run folder without a relative output_dir's
// components ("runs/x" run in /home/a holds its data relative to /home/a).
fs::path training_folder(const fs::path& run_folder, const std::string& output_dir) {
  fs::path out = fs::path(output_dir).lexically_normal();
  if (out.is_absolute() || out.empty()) return fs::current_path();
  fs::path folder = run_folder;
  std::vector<fs::path> parts(out.begin(), out.end());
  for (auto part = parts.rbegin(); part != parts.rend(); ++part) {
    if (part->empty() || *part == ".") continue;
    if (folder.filename() != *part) return fs::current_path();
    folder = folder.parent_path();
  }
  return folder;
}

// A conversation's prompt is everything before its last assistant turn.
PreferencePrompt prompt_of_example(const Example& e) {
  switch (e.format) {
    case DataFormat::Text: return {{}, e.text};
    case DataFormat::Completion: return {{}, e.prompt};
    default: {
      std::vector<ChatMessage> messages = e.messages;
      const auto last = std::find_if(messages.rbegin(), messages.rend(),
                                     [](const ChatMessage& m) { return m.role == "assistant"; });
      if (last != messages.rend()) messages.erase(std::prev(last.base()), messages.end());
      return {std::move(messages), ""};
    }
  }
}

// The prompt of one line of any training format.
PreferencePrompt prompt_of_line(std::string_view line, DataFormat format, const std::string& file, size_t number) {
  const std::string where = fmt::format("{}:{}", file, number);
  if (format == DataFormat::Prompt) return parse_rl_prompt(parse_prompt_object(line, where), where);
  const DataFormat detected = line_format(line, format, where);
  if (is_preference_format(detected))
    return std::visit([](const auto& l) { return l.prompt; }, parse_preference_line(line, detected, file, number));
  try {
    return prompt_of_example(parse_example(line, detected, file, number));
  } catch (const Error&) {
    // A conversation that ends with the user's turn is an RL prompt line, not a chat example.
    if (detected != DataFormat::Chat || format != DataFormat::Auto) throw;
    try {
      return parse_rl_prompt(parse_prompt_object(line, where), where);
    } catch (const Error&) {
    }
    throw;
  }
}

std::vector<int32_t> prompt_tokens(const LoadedModel& model, const PreferencePrompt& prompt) {
  return prompt.chat() ? chat_prompt_tokens(model, prompt.messages) : model.tokenizer.encode(prompt.text);
}

}  // namespace

std::optional<ReferenceSource> run_folder_training_data(const std::string& model_path) {
  std::error_code ec;
  fs::path folder = fs::absolute(model_path, ec).lexically_normal();
  if (!fs::is_directory(folder, ec)) folder = folder.parent_path();
  if (folder.filename().empty()) folder = folder.parent_path();  // "dir/" names "dir"
  for (int up = 0; up < 3 && !folder.empty(); ++up, folder = folder.parent_path()) {
    const fs::path config_path = folder / "config.yaml";
    if (!fs::is_regular_file(config_path, ec) || !is_run_config(config_path)) continue;
    const TrainConfig config = load_train_config(config_path.string(), {});
    ReferenceSource source;
    source.origin = config_path.string();
    source.format = config.data_format == DataFormat::Auto && samples_online(config) ? DataFormat::Prompt
                                                                                      : config.data_format;
    const fs::path started_in = training_folder(folder, config.output_dir);
    for (const std::string& file : config.train_data.empty() ? config.task_sequence : config.train_data) {
      const fs::path p(file);
      source.files.push_back((p.is_absolute() ? p : started_in / p).lexically_normal().string());
    }
    return source;
  }
  return std::nullopt;
}

DriftReference build_drift_reference(const ReferenceSource& source, const LoadedModel& model,
                                     size_t perplexity_sample, size_t scored_tokens) {
  // A seeded reservoir keeps a uniform sample of every line when a file is larger than the profile.
  std::mt19937_64 rng(20261205);
  std::vector<PreferencePrompt> kept;
  size_t seen = 0;
  for (const std::string& file : source.files) {
    if (!fs::is_regular_file(file)) fail(file, "the drift reference's training data is not a readable file ({})", source.origin);
    LineAccount account;
    read_jsonl_records(file, true, account, [&](std::string_view line, size_t number) {
      PreferencePrompt prompt = prompt_of_line(line, source.format, file, number);
      if (kept.size() < kMaxReferencePrompts) {
        kept.push_back(std::move(prompt));
      } else if (const size_t slot = std::uniform_int_distribution<size_t>(0, seen)(rng); slot < kMaxReferencePrompts) {
        kept[slot] = std::move(prompt);
      }
      ++seen;
    });
  }
  DriftReference reference;
  reference.source = source;
  reference.length_counts.assign(kPromptLengthBins, 0.0);
  std::unordered_map<int32_t, int64_t> counts;
  std::vector<std::vector<int32_t>> tokenized;
  for (const PreferencePrompt& prompt : kept) {
    std::vector<int32_t> tokens = prompt_tokens(model, prompt);
    if (tokens.empty()) continue;
    reference.length_counts[size_t(prompt_length_bin(int64_t(tokens.size())))] += 1;
    for (int32_t t : tokens) ++counts[t];
    tokenized.push_back(std::move(tokens));
  }
  if (tokenized.empty())
    fail(source.files.empty() ? source.origin : source.files.front(), "the drift reference holds no prompt ({})",
         source.origin);
  reference.prompts = tokenized.size();
  reference.top_tokens = most_frequent_tokens(counts, kReferenceTopTokens);
  reference.token_counts = token_bucket_counts(counts, reference.top_tokens);
  std::shuffle(tokenized.begin(), tokenized.end(), rng);
  tokenized.resize(std::min(tokenized.size(), perplexity_sample));
  for (auto& tokens : tokenized)
    if (tokens.size() > scored_tokens) tokens.resize(scored_tokens);
  reference.perplexity_sample = std::move(tokenized);
  return reference;
}

}  // namespace whet::serve
