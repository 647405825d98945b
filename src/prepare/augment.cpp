#include "prepare/augment.h"

#include <utf8proc.h>

#include <fmt/format.h>

#include "core/utf8.h"
#include "prepare/random.h"
#include "prepare/stages.h"

namespace whet {
namespace {

// The text's characters, each a string of its own to be dropped, swapped or replaced.
std::vector<std::string> characters(std::string_view text) {
  std::vector<std::string> out;
  for (const CodePoint& c : code_points(text)) out.emplace_back(c.bytes);
  return out;
}

std::string flip_case(const std::string& character) {
  const int32_t cp = code_point_at(character, 0).value;
  std::string flipped;
  append_utf8(flipped, utf8proc_isupper(cp) ? utf8proc_tolower(cp) : utf8proc_toupper(cp));
  return flipped;
}

}  // namespace

std::string character_noise(std::string_view text, double char_dropout, double swap, double case_flip,
                            std::mt19937_64& rng) {
  std::vector<std::string> chars = characters(text);
  std::string out;
  for (size_t i = 0; i < chars.size(); ++i) {
    if (unit_random(rng) < char_dropout) continue;
    if (i + 1 < chars.size() && unit_random(rng) < swap) {
      std::swap(chars[i], chars[i + 1]);
    } else if (unit_random(rng) < case_flip) {
      chars[i] = flip_case(chars[i]);
    }
    out += chars[i];
  }
  return out;
}

std::string word_dropout(std::string_view text, double p, std::mt19937_64& rng) {
  std::vector<std::string_view> words;
  for (size_t start = 0; start < text.size();) {
    const size_t end = std::min(text.find(' ', start), text.size());
    if (end > start) words.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  std::vector<std::string_view> kept;
  for (std::string_view w : words)
    if (unit_random(rng) >= p) kept.push_back(w);
  if (kept.empty() && !words.empty()) kept.push_back(words[below(rng, words.size())]);
  std::string out;
  for (std::string_view w : kept) (out += out.empty() ? "" : " ") += w;
  return out;
}

std::string apply_template(std::string_view pattern, std::string_view prompt) {
  std::string out;
  for (size_t at = 0;;) {
    const size_t hole = pattern.find("{prompt}", at);
    out += pattern.substr(at, hole == std::string_view::npos ? std::string_view::npos : hole - at);
    if (hole == std::string_view::npos) return out;
    out += prompt;
    at = hole + 8;
  }
}

void augment_stage(std::vector<Record>& train, const AugmentConfig& config, uint64_t seed, Ledger& ledger) {
  ledger.begin(stage_name(Stage::Augment), train.size());
  const size_t originals = train.size();
  const bool word = config.word_dropout > 0;
  const bool noise = config.char_dropout > 0 || config.swap > 0 || config.case_flip > 0;
  for (size_t i = 0; i < originals && config.copies > 0; ++i) {
    if (train[i].augmented) continue;
    for (int c = 0; c < config.copies; ++c) {
      Record copy = train[i];
      std::vector<std::string*> inputs = input_fields(copy);
      if (inputs.empty()) {
        ++ledger.current().counts["records without inputs, not augmented"];
        break;
      }
      std::mt19937_64 rng = record_rng(seed, copy.id, uint64_t(c) + 1);
      std::string how;
      if (!config.templates.empty()) {
        const size_t t = below(rng, config.templates.size());
        *inputs.back() = apply_template(config.templates[t], *inputs.back());
        how += fmt::format("template {}", t + 1);
      }
      for (std::string* field : inputs) {
        if (word) *field = word_dropout(*field, config.word_dropout, rng);
        if (noise) *field = character_noise(*field, config.char_dropout, config.swap, config.case_flip, rng);
      }
      if (word) how += std::string(how.empty() ? "" : ", ") + "word dropout";
      if (noise) how += std::string(how.empty() ? "" : ", ") + "character noise";
      if (how.empty()) how = "plain copy";
      copy.augmented = true;
      ledger.add(copy, {how, fmt::format("copy {} of {}", c + 1, train[i].example.where())});
      train.push_back(std::move(copy));
    }
  }
  ledger.end(train.size());
}

}  // namespace whet
