// Whet's native chat templates against the models' own Jinja templates as jinja2 renders them.
// tests/python/make_chat_template_oracle.py writes the reference (each template's source, BOS and EOS
// text, and per conversation and generation-prompt flag the expected text or the template's refusal);
// the ctest chat_template_oracle (tests/python/check_chat_template_oracle.sh) makes it from the real
// models and the tiny ones and then runs this suite, which the gtest shards leave out.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "test_support.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whet {
namespace {

using json = nlohmann::json;

std::vector<ChatMessage> messages_of(const json& messages) {
  std::vector<ChatMessage> out;
  for (const json& m : messages) out.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
  return out;
}

// The model's tokenizer as Whet reads it from the file the oracle read (a GGUF file or a
// Hugging Face folder's tokenizer_config.json).
TokenizerSpec whet_tokenizer(const std::string& file) {
  if (file.ends_with(".gguf")) return Tokenizer::from_gguf(GgufFile::open(file)).spec();
  return Tokenizer::from_hf_dir(std::filesystem::path(file).parent_path().string()).spec();
}

std::string token_text(const TokenizerSpec& spec, int id) {
  return id >= 0 && size_t(id) < spec.tokens.size() ? spec.tokens[size_t(id)] : "";
}

// One template's renderings; returns how many cases it checked.
size_t check_template(const json& entry) {
  const std::string name = entry.at("name"), file = entry.at("file");
  SCOPED_TRACE("template of " + name + " (" + file + ")");
  // Whet reads the same template and special tokens from the model file as the oracle did.
  const TokenizerSpec spec = whet_tokenizer(file);
  EXPECT_EQ(spec.chat_template, entry.at("source").get<std::string>());
  EXPECT_EQ(token_text(spec, spec.bos_id), entry.at("bos_token").get<std::string>());
  EXPECT_EQ(token_text(spec, spec.eos_id), entry.at("eos_token").get<std::string>());
  ChatTemplate chat;
  try {
    chat = ChatTemplate::detect(spec.chat_template);
  } catch (const Error& e) {
    ADD_FAILURE() << "Whet does not recognise the template: " << e.what();
    return 0;
  }
  size_t checked = 0;
  for (const json& c : entry.at("cases")) {
    const std::vector<ChatMessage> messages = messages_of(c.at("messages"));
    const bool add_generation_prompt = c.at("add_generation_prompt");
    const std::string where = fmt::format("{} ({} template), conversation '{}', add_generation_prompt {}", name,
                                          chat.name(), c.at("conversation").get<std::string>(), add_generation_prompt);
    if (c.contains("error")) {
      EXPECT_THROW(chat.render(messages, add_generation_prompt), Error)
          << where << ": the template refuses it (" << c.at("error").get<std::string>() << "), Whet renders it";
    } else {
      try {
        EXPECT_EQ(chat.render(messages, add_generation_prompt), c.at("text").get<std::string>()) << where;
      } catch (const Error& e) {
        ADD_FAILURE() << where << ": jinja2 renders it, Whet refuses: " << e.what();
      }
    }
    ++checked;
  }
  return checked;
}

TEST(ChatTemplateOracle, RendersTheModelsTemplatesAsJinja2Does) {
  const std::string path = test::testdata_path("chat_templates.json");
  WHET_REQUIRE_FILE(path, "the ctest chat_template_oracle (tests/python/check_chat_template_oracle.sh)");
  std::ifstream in(path);
  const json oracle = json::parse(in);
  ASSERT_FALSE(oracle.at("templates").empty()) << path;
  size_t checked = 0;
  for (const json& entry : oracle.at("templates")) checked += check_template(entry);
  EXPECT_GT(checked, 0u);
  std::printf("checked %zu renderings of %zu templates against %s\n", checked, oracle.at("templates").size(),
              oracle.at("oracle").get<std::string>().c_str());
}

}  // namespace
}  // namespace whet
