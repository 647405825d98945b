// Whet's native chat templates against two peers. First the models' own Jinja templates as jinja2
// renders them: tests/python/make_chat_template_oracle.py writes chat_templates.json (each template's
// source, BOS and EOS text, and per conversation and generation-prompt flag the expected text or the
// template's refusal) from the real models, the tiny ones and the templates llama-cpp-python ships.
// Then, for formats whose Jinja template no package here ships, llama.cpp's own renderer:
// chat_templates_llamacpp.json, with the cases where llama.cpp departs from the official template
// marked and explained. The ctest chat_template_oracle (tests/python/check_chat_template_oracle.sh)
// makes both and then runs this suite, which the gtest shards leave out.
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

constexpr std::string_view kMadeBy = "the ctest chat_template_oracle (tests/python/check_chat_template_oracle.sh)";

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// One template's renderings; returns how many cases it checked.
size_t check_template(const json& entry) {
  const std::string name = entry.at("name"), file = entry.at("file"), source = entry.at("source");
  SCOPED_TRACE("template of " + name + " (" + file + ")");
  if (entry.at("kind") == "model file") {
    // Whet reads the same template and special tokens from the model file as the oracle did.
    const TokenizerSpec spec = whet_tokenizer(file);
    EXPECT_EQ(spec.chat_template, source);
    EXPECT_EQ(token_text(spec, spec.bos_id), entry.at("bos_token").get<std::string>());
    EXPECT_EQ(token_text(spec, spec.eos_id), entry.at("eos_token").get<std::string>());
  }
  ChatTemplate chat;
  try {
    chat = ChatTemplate::detect(source);
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

// One case of llama.cpp's renderer against Whet's format. llama.cpp leaves the opening BOS to its
// tokenizer, so Whet's text is compared after its BOS.
void check_llama_cpp_case(const ChatTemplate& chat, const json& c, const std::string& where) {
  const std::vector<ChatMessage> messages = messages_of(c.at("messages"));
  const bool add_generation_prompt = c.at("add_generation_prompt");
  const std::string theirs = c.at("text");
  const json deviation = c.value("deviation", json::object());
  const std::string kind = deviation.value("kind", ""), why = deviation.value("why", "");
  if (kind == "refuses") {
    EXPECT_THROW(chat.render(messages, add_generation_prompt), Error) << where << ": " << why;
    return;
  }
  std::string ours;
  try {
    ours = chat.render(messages, add_generation_prompt);
  } catch (const Error& e) {
    ADD_FAILURE() << where << ": llama.cpp renders it, Whet refuses: " << e.what();
    return;
  }
  ASSERT_TRUE(ours.starts_with(chat.bos_text)) << where;
  ours.erase(0, chat.bos_text.size());
  if (kind.empty()) {
    EXPECT_EQ(ours, theirs) << where;
  } else if (kind == "appends") {
    EXPECT_EQ(ours, theirs + deviation.at("text").get<std::string>()) << where << ": " << why;
  } else {
    // The note must stay true: if llama.cpp comes to agree, the deviation is to be removed.
    ASSERT_EQ(kind, "differs") << where;
    EXPECT_NE(ours, theirs) << where << ": marked as a deviation (" << why << "), yet llama.cpp renders Whet's text";
  }
}

TEST(ChatTemplateOracle, RendersTheModelsTemplatesAsJinja2Does) {
  const std::string path = test::testdata_path("chat_templates.json");
  WHET_REQUIRE_FILE(path, std::string(kMadeBy));
  const json oracle = read_json(path);
  ASSERT_FALSE(oracle.at("templates").empty());
  size_t checked = 0;
  for (const json& entry : oracle.at("templates")) checked += check_template(entry);
  EXPECT_GT(checked, 0u);
  std::printf("checked %zu renderings of %zu templates against %s\n", checked, oracle.at("templates").size(),
              oracle.at("oracle").get<std::string>().c_str());
}

TEST(ChatTemplateOracle, RendersAsLlamaCppDoesWhereItFollowsTheOfficialTemplate) {
  const std::string path = test::testdata_path("chat_templates_llamacpp.json");
  WHET_REQUIRE_FILE(path, std::string(kMadeBy));
  const json oracle = read_json(path);
  ASSERT_FALSE(oracle.at("renderers").empty());
  size_t checked = 0, deviations = 0;
  for (const json& peer : oracle.at("renderers")) {
    const ChatTemplate chat = ChatTemplate::by_name(peer.at("whet_format").get<std::string>());
    SCOPED_TRACE(peer.at("name").get<std::string>() + " against Whet's " + chat.name() + ", following " +
                 peer.at("follows").get<std::string>());
    for (const json& c : peer.at("cases")) {
      check_llama_cpp_case(chat, c, fmt::format("conversation '{}', add_generation_prompt {}",
                                                c.at("conversation").get<std::string>(),
                                                c.at("add_generation_prompt").get<bool>()));
      ++checked;
      deviations += c.contains("deviation");
    }
  }
  EXPECT_GT(checked, deviations);
  std::printf("checked %zu renderings of %zu formats against %s (%zu where llama.cpp departs from the official "
              "template)\n",
              checked, oracle.at("renderers").size(), oracle.at("oracle").get<std::string>().c_str(), deviations);
}

}  // namespace
}  // namespace whet
