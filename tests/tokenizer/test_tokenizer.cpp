// Tokenizer: ids identical to Hugging Face `tokenizers` on the corpus
// (tests/fixtures/tokenizer_expected.jsonl, made by tests/python/make_tokenizer_oracle.py),
// exact decode round trips, the HF file writer and reader, merge order and
// added-token matching on tiny vocabularies, and hostile tokenizer files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/gguf.h"
#include "../test_support.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/tokenizer.h"

namespace whet {
namespace {

using json = nlohmann::json;

using test::expect_error;

// A fresh folder for the running test (kept apart from the ASan binary's).
std::string scratch() { return test::this_test_scratch("tokenizer_"); }

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::vector<json> read_jsonl(const std::string& relative) {
  std::ifstream in(test::source_path(relative));
  EXPECT_TRUE(in) << relative;
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(json::parse(line));
  return lines;
}

std::vector<std::string> corpus() {
  std::vector<std::string> texts;
  for (const json& line : read_jsonl("tests/fixtures/tokenizer_corpus.jsonl")) texts.push_back(line.get<std::string>());
  return texts;
}

// ---------------------------------------------------------------- the default model

// One tokenizer for the suite: loading 49k tokens and merges is the slow part under ASan.
class DefaultModelTokenizer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::filesystem::exists(test::default_model_path()))
      tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_gguf(GgufFile::open(test::default_model_path())));
  }
  static void TearDownTestSuite() { tokenizer_.reset(); }
  void SetUp() override {
    WHET_REQUIRE_DEFAULT_MODEL();
  }
  static const Tokenizer& tokenizer() { return *tokenizer_; }

 private:
  static std::unique_ptr<Tokenizer> tokenizer_;
};
std::unique_ptr<Tokenizer> DefaultModelTokenizer::tokenizer_;

TEST_F(DefaultModelTokenizer, IdsMatchHuggingFaceOnTheWholeCorpus) {
  std::vector<json> expected = read_jsonl("tests/fixtures/tokenizer_expected.jsonl");
  std::vector<std::string> texts = corpus();
  ASSERT_GE(texts.size(), 220u);
  ASSERT_EQ(expected.size(), texts.size()) << "rerun tests/python/make_tokenizer_oracle.py after editing the corpus";
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(expected[i]["text"].get<std::string>(), texts[i]) << "expected ids are stale at line " << i + 1;
    EXPECT_EQ(tokenizer().encode(texts[i]), expected[i]["ids"].get<std::vector<int32_t>>()) << json(texts[i]).dump();
  }
}

TEST_F(DefaultModelTokenizer, DecodeRestoresEveryCorpusLine) {
  for (const std::string& text : corpus()) EXPECT_EQ(tokenizer().decode(tokenizer().encode(text)), text);
}

TEST_F(DefaultModelTokenizer, ReadsTheGgufSettings) {
  const TokenizerSpec& spec = tokenizer().spec();
  EXPECT_EQ(tokenizer().vocab_size(), 49152);
  EXPECT_EQ(spec.pre, "smollm");
  EXPECT_EQ(spec.bos_id, tokenizer().token_id("<|im_start|>"));
  EXPECT_EQ(spec.eos_id, tokenizer().token_id("<|im_end|>"));
  EXPECT_EQ(spec.eot_id, tokenizer().token_id("<|im_end|>"));
  EXPECT_FALSE(spec.add_bos);
  EXPECT_NE(spec.chat_template.find("<|im_start|>"), std::string::npos);
  EXPECT_TRUE(tokenizer().is_end_of_generation(spec.eos_id));
  EXPECT_FALSE(tokenizer().is_end_of_generation(tokenizer().token_id("Hello")));
}

TEST_F(DefaultModelTokenizer, SpecialTokensAreTextWithoutParseSpecial) {
  const int32_t im_end = tokenizer().token_id("<|im_end|>");
  EXPECT_EQ(tokenizer().encode("<|im_end|>"), std::vector<int32_t>{im_end});
  std::vector<int32_t> plain = tokenizer().encode("<|im_end|>", /*parse_special=*/false);
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), im_end), 0);
  EXPECT_EQ(tokenizer().decode(plain), "<|im_end|>");
}

TEST_F(DefaultModelTokenizer, DecodeCanSkipSpecialTokens) {
  std::vector<int32_t> ids = tokenizer().encode("<|im_start|>user\nHi<|im_end|>");
  EXPECT_EQ(tokenizer().decode(ids, /*skip_special=*/true), "user\nHi");
  EXPECT_EQ(tokenizer().token_bytes(tokenizer().token_id("Ġworld")), " world");
  EXPECT_EQ(tokenizer().token_bytes(-1), "");
  EXPECT_EQ(tokenizer().token_bytes(tokenizer().vocab_size()), "");
}

TEST_F(DefaultModelTokenizer, InvalidUtf8RoundTripsWithoutCrashing) {
  const std::vector<std::string> inputs = {
      "\x80", "abc\x80" "def", "\xe4\xbd", "ok \xe4\xbd\xa0\xe4", "\xed\xa0\x80 surrogate",
      "\xf4\x90\x80\x80 beyond U+10FFFF", "<|im_end|>\x80<|im_start|>", "12\x80" "34 \xbf\xe0  x",
      std::string("nul\0inside", 10),
  };
  for (const std::string& input : inputs) {
    EXPECT_EQ(tokenizer().decode(tokenizer().encode(input)), input);
    EXPECT_EQ(tokenizer().decode(tokenizer().encode(input, false)), input);
  }
  // Bytes that UTF-8 never uses are missing from this vocabulary: they become the unknown token.
  EXPECT_EQ(tokenizer().encode("\xc0\xff"), (std::vector<int32_t>{tokenizer().spec().unk_id, tokenizer().spec().unk_id}));
}

TEST_F(DefaultModelTokenizer, HfFilesWrittenAndReadBackTokenizeIdentically) {
  std::string dir = scratch();
  tokenizer().write_hf_files(dir);
  Tokenizer reloaded = Tokenizer::from_hf_dir(dir);

  const TokenizerSpec& a = tokenizer().spec();
  const TokenizerSpec& b = reloaded.spec();
  EXPECT_EQ(b.tokens, a.tokens);
  EXPECT_EQ(b.types, a.types);
  EXPECT_EQ(b.merges, a.merges);
  EXPECT_EQ(b.pre, a.pre);
  EXPECT_EQ(b.bos_id, a.bos_id);
  EXPECT_EQ(b.eos_id, a.eos_id);
  EXPECT_EQ(b.unk_id, a.unk_id);
  EXPECT_EQ(b.pad_id, a.pad_id);
  EXPECT_EQ(b.eot_id, a.eot_id);
  EXPECT_EQ(b.add_bos, a.add_bos);
  EXPECT_EQ(b.chat_template, a.chat_template);
  for (const std::string& text : corpus()) EXPECT_EQ(reloaded.encode(text), tokenizer().encode(text)) << text;
}

// Not under ASan: a megabyte takes long there and checks nothing the corpus tests do not.
#ifndef WHET_ASAN
// A megabyte in one call round-trips (its speed is measured by bench/bench_tokenizer.cpp, not here).
TEST_F(DefaultModelTokenizer, EncodesAMegabyteOfEnglishAndDecodesItBack) {
  const std::string paragraph =
      "The committee met on Tuesday to discuss the budget for next year. After a long debate, members agreed "
      "that the library would receive 12% more funding, while the sports program's allocation stayed flat. "
      "\"We can't do everything at once,\" said the chair, \"but we've made real progress.\"\n";
  std::string text;
  for (int copy = 0; text.size() < (1 << 20); ++copy) text += std::to_string(copy) + ". " + paragraph;
  const std::vector<int32_t> ids = tokenizer().encode(text);
  // English BPE gives 3 to 6 bytes per token; a byte-per-token fallback would be a bug.
  EXPECT_GT(ids.size(), text.size() / 8);
  EXPECT_LT(ids.size(), text.size() / 3);
  EXPECT_EQ(tokenizer().decode(ids), text);
}
#endif

// ---------------------------------------------------------------- tiny vocabularies

// A vocabulary of the 256 byte tokens (id = byte value) followed by `extra` tokens,
// which become merges in order when `merges` lists them as (left, right).
TokenizerSpec byte_vocabulary(const std::vector<std::string>& extra,
                              const std::vector<std::pair<std::string, std::string>>& merges) {
  TokenizerSpec spec;
  for (int byte = 0; byte < 256; ++byte) spec.tokens.emplace_back(byte_to_unicode(uint8_t(byte)));
  spec.tokens.insert(spec.tokens.end(), extra.begin(), extra.end());
  spec.types.assign(spec.tokens.size(), TokenType::Normal);
  spec.merges = merges;
  return spec;
}

TEST(ByteUnicode, IsGpt2sMapping) {
  EXPECT_EQ(byte_to_unicode(' '), "Ġ");
  EXPECT_EQ(byte_to_unicode('\n'), "Ċ");
  EXPECT_EQ(byte_to_unicode('a'), "a");
  EXPECT_EQ(byte_to_unicode(0xAD), "Ń");  // the soft hyphen is not printable, so it is substituted
  EXPECT_EQ(byte_to_unicode(0xE9), "é");
  for (int byte = 0; byte < 256; ++byte) {
    std::string one(1, char(byte));
    EXPECT_EQ(unicode_to_bytes(bytes_to_unicode(one)), one);
  }
  EXPECT_EQ(unicode_to_bytes("<|im_end|>"), "<|im_end|>");
  EXPECT_EQ(unicode_to_bytes("a b"), std::nullopt);  // a real space is not a byte character
  EXPECT_EQ(unicode_to_bytes("中"), std::nullopt);
}

TEST(Bpe, LowestRankMergesFirst) {
  TokenizerSpec spec = byte_vocabulary({"bc", "ab"}, {{"b", "c"}, {"a", "b"}});
  Tokenizer tokenizer(spec);
  EXPECT_EQ(tokenizer.encode("abc"), (std::vector<int32_t>{'a', tokenizer.token_id("bc")}));
}

TEST(Bpe, EqualPairsMergeLeftmostFirst) {
  Tokenizer tokenizer(byte_vocabulary({"aa"}, {{"a", "a"}}));
  int32_t aa = tokenizer.token_id("aa");
  EXPECT_EQ(tokenizer.encode("aaa"), (std::vector<int32_t>{aa, 'a'}));
  EXPECT_EQ(tokenizer.encode("aaaaa"), (std::vector<int32_t>{aa, aa, 'a'}));
}

TEST(Bpe, LongWordsMergeInLinearithmicTime) {
  Tokenizer tokenizer(byte_vocabulary({"aa", "aaaa"}, {{"a", "a"}, {"aa", "aa"}}));
  std::vector<int32_t> ids = tokenizer.encode(std::string(100001, 'a'));
  ASSERT_EQ(ids.size(), 25001u);
  EXPECT_EQ(ids.front(), tokenizer.token_id("aaaa"));
  EXPECT_EQ(ids.back(), 'a');
}

TEST(Bpe, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  // "abc" is reachable only directly: no merge makes it.
  TokenizerSpec spec = byte_vocabulary({"ab", "abc"}, {{"a", "b"}});
  EXPECT_EQ(Tokenizer(spec).encode("abc"), (std::vector<int32_t>{256, 'c'}));
  spec.ignore_merges = true;
  EXPECT_EQ(Tokenizer(spec).encode("abc"), std::vector<int32_t>{257});
}

TEST(AddedTokens, LongestMatchWinsAndControlTokensComeFirst) {
  TokenizerSpec spec = byte_vocabulary({"<a>", "<a>>", "a>b"}, {});
  spec.types[256] = spec.types[257] = TokenType::Control;
  spec.types[258] = TokenType::UserDefined;
  Tokenizer tokenizer(spec);
  EXPECT_EQ(tokenizer.encode("x<a>>y"), (std::vector<int32_t>{'x', 257, 'y'}));
  EXPECT_EQ(tokenizer.encode("<a>b"), (std::vector<int32_t>{256, 'b'}));  // the special token is split out first
  EXPECT_EQ(tokenizer.encode("<a>b", false), (std::vector<int32_t>{'<', 258}));  // then the user-defined one
  EXPECT_EQ(tokenizer.decode({256, 258}, /*skip_special=*/true), "a>b");
}

TEST(PreTokenizer, DigitsSplitBeforeTheGpt2Regex) {
  TokenizerSpec spec = byte_vocabulary({"Ġ1", "12"}, {{"Ġ", "1"}, {"1", "2"}});
  spec.pre = "gpt2";
  EXPECT_EQ(Tokenizer(spec).encode(" 12"), (std::vector<int32_t>{256, '2'}));
  spec.pre = "smollm";
  EXPECT_EQ(Tokenizer(spec).encode(" 12"), (std::vector<int32_t>{' ', '1', '2'}));
}

TEST(PreTokenizer, CustomRegexesAndUnknownNames) {
  TokenizerSpec spec = byte_vocabulary({"ab"}, {{"a", "b"}});
  spec.pre = "custom";
  spec.pre_regexes = {"b"};  // splits "ab" into "a" and "b" so the merge never applies
  EXPECT_EQ(Tokenizer(spec).encode("ab"), (std::vector<int32_t>{'a', 'b'}));
  spec.pre_regexes = {"("};
  expect_error([&] { Tokenizer{spec}; }, {"pre", "does not compile"});
  spec.pre = "no-such-pre";
  expect_error([&] { Tokenizer{spec}; }, {"no-such-pre", "not supported"});
}

// ---------------------------------------------------------------- hostile files

// A small valid tokenizer.json, for the hostile-file tests to spoil one part of.
json minimal_tokenizer_json() {
  return json::parse(R"({
    "added_tokens": [{"id": 3, "content": "<s>", "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "post_processor": null,
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<s>": 3}, "merges": ["a b"]}
  })");
}

std::string write_tokenizer_dir(const json& tokenizer_json) {
  std::string dir = scratch();
  write_text(dir + "/tokenizer.json", tokenizer_json.dump());
  return dir;
}

TEST(HfFiles, MinimalTokenizerLoads) {
  json config = {{"bos_token", {{"content", "<s>"}}}, {"add_bos_token", true}, {"chat_template", "{{ x }}"}};
  std::string dir = write_tokenizer_dir(minimal_tokenizer_json());
  write_text(dir + "/tokenizer_config.json", config.dump());
  Tokenizer tokenizer = Tokenizer::from_hf_dir(dir);
  EXPECT_EQ(tokenizer.encode("ab<s>ba"), (std::vector<int32_t>{3, 2, 3, 1, 0}));
  EXPECT_EQ(tokenizer.spec().chat_template, "{{ x }}");
}

TEST(HfFiles, MergesMayBePairs) {
  json tokenizer_json = minimal_tokenizer_json();
  tokenizer_json["model"]["merges"] = json::parse(R"([["a", "b"]])");
  EXPECT_EQ(Tokenizer::from_hf_dir(write_tokenizer_dir(tokenizer_json)).encode("ab"), std::vector<int32_t>{2});
}

TEST(HfFiles, NotJsonIsAnError) {
  std::string dir = scratch();
  write_text(dir + "/tokenizer.json", "{\"model\": {\"vocab\": [1, 2");
  expect_error([&] { Tokenizer::from_hf_dir(dir); }, {dir + "/tokenizer.json", "not valid JSON"});
}

TEST(HfFiles, MissingFileIsAnError) {
  std::string dir = scratch();
  expect_error([&] { Tokenizer::from_hf_dir(dir); }, {dir + "/tokenizer.json", "cannot open"});
}

TEST(HfFiles, MissingModelIsAnError) {
  json tokenizer_json = minimal_tokenizer_json();
  tokenizer_json.erase("model");
  std::string dir = write_tokenizer_dir(tokenizer_json);
  expect_error([&] { Tokenizer::from_hf_dir(dir); }, {dir + "/tokenizer.json", "model", "missing"});
}

TEST(HfFiles, VocabularyThatIsNotAnObjectIsAnError) {
  json tokenizer_json = minimal_tokenizer_json();
  tokenizer_json["model"]["vocab"] = json::array({"a", "b"});
  std::string dir = write_tokenizer_dir(tokenizer_json);
  expect_error([&] { Tokenizer::from_hf_dir(dir); }, {dir + "/tokenizer.json", "model.vocab", "expected an object"});
}

TEST(HfFiles, MergeOfAnUnknownTokenIsAnError) {
  json tokenizer_json = minimal_tokenizer_json();
  tokenizer_json["model"]["merges"] = json::array({"a b", "b zz"});
  std::string dir = write_tokenizer_dir(tokenizer_json);
  expect_error([&] { Tokenizer::from_hf_dir(dir); }, {dir + "/tokenizer.json", "model.merges[1]", "'zz'"});
}

TEST(HfFiles, BadIdsAreErrors) {
  json tokenizer_json = minimal_tokenizer_json();
  tokenizer_json["model"]["vocab"]["b"] = 1000000000000;
  expect_error([&] { Tokenizer::from_hf_dir(write_tokenizer_dir(tokenizer_json)); }, {"model.vocab.b", "out of range"});
  tokenizer_json["model"]["vocab"]["b"] = "one";
  expect_error([&] { Tokenizer::from_hf_dir(write_tokenizer_dir(tokenizer_json)); }, {"model.vocab.b", "integer"});
  tokenizer_json["model"]["vocab"]["b"] = 7;
  expect_error([&] { Tokenizer::from_hf_dir(write_tokenizer_dir(tokenizer_json)); }, {"model.vocab", "no token has id 1"});
}

TEST(HfFiles, UnsupportedModelsAreErrors) {
  json unigram = minimal_tokenizer_json();
  unigram["model"]["type"] = "Unigram";
  expect_error([&] { Tokenizer::from_hf_dir(write_tokenizer_dir(unigram)); }, {"model.type", "Unigram", "only BPE"});
  json no_byte_level = minimal_tokenizer_json();
  no_byte_level["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_error([&] { Tokenizer::from_hf_dir(write_tokenizer_dir(no_byte_level)); }, {"pre_tokenizer", "Whitespace"});
}

TEST(HfFiles, BadConfigTokenIsAnError) {
  std::string dir = write_tokenizer_dir(minimal_tokenizer_json());
  write_text(dir + "/tokenizer_config.json", R"({"eos_token": "</s>"})");
  expect_error([&] { Tokenizer::from_hf_dir(dir); }, {dir + "/tokenizer_config.json", "eos_token", "'</s>'"});
}

// A GGUF holding only tokenizer metadata, with `changes` applied on top of a valid set.
std::string write_tokenizer_gguf(const std::vector<std::pair<std::string, GgufValue>>& changes) {
  GgufWriter writer;
  writer.set("tokenizer.ggml.model", GgufValue::make_string("gpt2"));
  writer.set("tokenizer.ggml.pre", GgufValue::make_string("gpt2"));
  writer.set("tokenizer.ggml.tokens", GgufValue::make_strings({"a", "b", "ab"}));
  writer.set("tokenizer.ggml.token_type", GgufValue::make_i32s({1, 1, 1}));
  writer.set("tokenizer.ggml.merges", GgufValue::make_strings({"a b"}));
  for (const auto& [key, value] : changes) writer.set(key, value);
  std::string path = scratch() + "/tokenizer.gguf";
  writer.write(path);
  return path;
}

TEST(GgufMetadata, MinimalTokenizerLoadsAndWritesBack) {
  Tokenizer tokenizer = Tokenizer::from_gguf(GgufFile::open(write_tokenizer_gguf({})));
  EXPECT_EQ(tokenizer.encode("abba"), (std::vector<int32_t>{2, 1, 0}));
  GgufWriter writer;
  tokenizer.add_gguf_metadata(writer);
  std::string path = scratch() + "/copy.gguf";
  writer.write(path);
  EXPECT_EQ(Tokenizer::from_gguf(GgufFile::open(path)).spec().merges, tokenizer.spec().merges);
}

TEST(GgufMetadata, IdOutOfRangeIsAnError) {
  std::string path = write_tokenizer_gguf({{"tokenizer.ggml.bos_token_id", GgufValue::make_u32(1000000000)}});
  expect_error([&] { Tokenizer::from_gguf(GgufFile::open(path)); },
               {path, "tokenizer.ggml.bos_token_id", "1000000000", "out of range"});
}

TEST(GgufMetadata, MismatchedTypesAndBadMergesAreErrors) {
  std::string types = write_tokenizer_gguf({{"tokenizer.ggml.token_type", GgufValue::make_i32s({1, 1})}});
  expect_error([&] { Tokenizer::from_gguf(GgufFile::open(types)); }, {types, "tokenizer.ggml.token_type"});
  std::string merges = write_tokenizer_gguf({{"tokenizer.ggml.merges", GgufValue::make_strings({"ab"})}});
  expect_error([&] { Tokenizer::from_gguf(GgufFile::open(merges)); }, {merges, "tokenizer.ggml.merges[0]"});
  std::string pre = write_tokenizer_gguf({{"tokenizer.ggml.pre", GgufValue::make_string("mystery")}});
  expect_error([&] { Tokenizer::from_gguf(GgufFile::open(pre)); }, {pre, "tokenizer.ggml.pre", "mystery"});
}

}  // namespace
}  // namespace whet
