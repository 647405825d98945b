// SentencePiece-style BPE (Gemma 3, Llama 2, Mistral): merges by score worked
// out by hand on a ten-piece vocabulary, byte fallback, the "▁" prefix and special
// tokens; ids and decodes identical to llama.cpp on GGUF vocabularies (a small
// generated one and Gemma 3 270M's 262,144 tokens) and to Hugging Face `tokenizers`
// on tokenizer.json, on every line of tests/fixtures/tokenizer_corpus.jsonl
// (tests/python/make_sentencepiece_fixtures.py and make_sentencepiece_llamacpp_oracle.py
// made the references; the ctest sentencepiece_oracle checks they are what the
// oracles give now); the writers' round trips; and hostile metadata.
// Gemma 3's GGUF holds Q5_0 tensors: its tests need GgufFile::open to read them
// (WHET_GEMMA3_MODEL may name another file with the same tokenizer metadata).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/gguf.h"
#include "../test_support.h"
#include "tokenizer/sentencepiece_bpe.h"
#include "tokenizer/tokenizer.h"

namespace whet {
namespace {

using json = nlohmann::json;
using Ids = std::vector<int32_t>;
using test::expect_error;

std::string scratch() { return test::this_test_scratch("sentencepiece_"); }
std::string fixture(const std::string& name) { return test::source_path("tests/fixtures/sentencepiece/" + name); }

// ---------------------------------------------------------------- hand-worked cases

// Ten pieces: <unk>, <s>, two byte tokens (the UTF-8 of 'é'), "▁", "a", "b" and
// the merged pieces "ab" (score -1), "▁a" (-2), "▁ab" (-3), "ba" (-0.5).
TokenizerSpec ten_piece_spec() {
  TokenizerSpec spec;
  spec.model = TokenizerModel::SentencePieceBpe;
  spec.tokens = {"<unk>", "<s>", "<0xC3>", "<0xA9>", "\u2581", "a", "b", "ab", "\u2581a", "\u2581ab", "ba"};
  spec.types = {TokenType::Unknown, TokenType::Control, TokenType::Byte, TokenType::Byte, TokenType::Normal,
                TokenType::Normal,  TokenType::Normal,  TokenType::Normal, TokenType::Normal, TokenType::Normal,
                TokenType::Normal};
  spec.scores = {0, 0, 0, 0, -10, -11, -12, -1, -2, -3, -0.5};
  spec.unk_id = 0;
  spec.bos_id = 1;
  return spec;
}
constexpr int32_t kUnk = 0, kBos = 1, kC3 = 2, kA9 = 3, kMark = 4, kA = 5, kB = 6, kAb = 7, kMarkA = 8, kMarkAb = 9,
                  kBa = 10;

TEST(SentencePieceByScore, HighestScoringPieceMergesFirst) {
  Tokenizer tokenizer(ten_piece_spec());
  // "a▁bab": the pairs that form pieces are "ba" (-0.5) at 2 and "ab" (-1) at 3;
  // "ba" wins, after which "ab" has lost its "b" and "▁ba", "bab" are no pieces.
  EXPECT_EQ(tokenizer.encode("a bab"), (Ids{kA, kMark, kBa, kB}));
  // "▁ab": "ab" (-1) beats "▁a" (-2), then "▁" + "ab" forms "▁ab".
  EXPECT_EQ(tokenizer.encode(" ab"), (Ids{kMarkAb}));
}

TEST(SentencePieceByScore, EqualScoresMergeLeftmostFirst) {
  TokenizerSpec spec = ten_piece_spec();
  spec.scores[kBa] = spec.scores[kAb];
  // "aba": "ab" at 0 and "ba" at 1 tie; the leftmost merges, leaving "a".
  EXPECT_EQ(Tokenizer(spec).encode("aba"), (Ids{kAb, kA}));
}

TEST(SentencePieceByScore, UnknownCharacterFallsBackToItsBytes) {
  Tokenizer tokenizer(ten_piece_spec());
  EXPECT_EQ(tokenizer.encode("a\u00e9b"), (Ids{kA, kC3, kA9, kB}));  // é is C3 A9
  // ü is C3 BC and the vocabulary lacks <0xBC>: the unknown token stands for it.
  EXPECT_EQ(tokenizer.encode("\u00fcab"), (Ids{kUnk, kAb}));
  EXPECT_EQ(tokenizer.decode({kA, kC3, kA9, kB}), "a\u00e9b");
  EXPECT_EQ(tokenizer.token_bytes(kC3), "\xC3");
}

TEST(SentencePieceByScore, PiecesFormFromTextEvenAcrossCharactersOutsideTheVocabulary) {
  TokenizerSpec spec = ten_piece_spec();
  spec.tokens.push_back("\u00e9a");  // 'é' alone is no piece
  spec.types.push_back(TokenType::Normal);
  spec.scores.push_back(-5);
  // As llama.cpp does: adjacent symbols merge when their text is a piece.
  EXPECT_EQ(Tokenizer(spec).encode("b\u00e9a"), (Ids{kB, 11}));
}

TEST(SentencePieceByScore, SpacePrefixIsAddedBeforeEachStretchAndRemovedByDecode) {
  TokenizerSpec spec = ten_piece_spec();
  EXPECT_EQ(Tokenizer(spec).encode("ab"), (Ids{kAb}));
  spec.space_prefix = SpacePrefix::EveryStretch;
  Tokenizer prefixed(spec);
  EXPECT_EQ(prefixed.encode("ab"), (Ids{kMarkAb}));
  // After a special token the next stretch starts with "▁" again (llama.cpp, HF Prepend).
  EXPECT_EQ(prefixed.encode("ab<s>ab"), (Ids{kMarkAb, kBos, kMarkAb}));
  EXPECT_EQ(prefixed.decode({kMarkAb}), "ab");
  EXPECT_EQ(prefixed.decode({kMarkAb, kMarkAb}), "ab ab");
  EXPECT_EQ(prefixed.decode({kBos, kMarkAb}, /*skip_special=*/true), "ab");
  EXPECT_EQ(prefixed.decode({kBos, kMarkAb}), "<s> ab");
  // HF Metaspace "first": only at the start of the text, and not before a space.
  spec.space_prefix = SpacePrefix::FirstStretchUnlessSpace;
  Tokenizer first(spec);
  EXPECT_EQ(first.encode("ab<s>ab"), (Ids{kMarkAb, kBos, kAb}));
  EXPECT_EQ(first.encode(" ab"), (Ids{kMarkAb}));
}

TEST(SentencePieceByScore, SpecialTokensAreMatchedFirstOrSpelledOut) {
  TokenizerSpec spec = ten_piece_spec();
  spec.add_bos = true;
  Tokenizer tokenizer(spec);
  EXPECT_EQ(tokenizer.encode("a<s>b"), (Ids{kBos, kA, kBos, kB}));
  // As text, '<', 's' and '>' are no pieces and have no byte tokens: the unknown token each.
  EXPECT_EQ(tokenizer.encode("a<s>b", /*parse_special=*/false), (Ids{kBos, kA, kUnk, kUnk, kUnk, kB}));
}

TEST(SentencePieceByRank, OnlyListedMergesApplyInRankOrder) {
  TokenizerSpec spec = ten_piece_spec();
  spec.scores.clear();
  spec.merges = {{"\u2581", "a"}, {"a", "b"}};
  Tokenizer tokenizer(spec);
  // "▁a" has the better rank; "▁a" + "b" is no listed merge although "▁ab" is a piece.
  EXPECT_EQ(tokenizer.encode(" ab"), (Ids{kMarkA, kB}));
  // "ba" is a piece but no merge makes it.
  EXPECT_EQ(tokenizer.encode("ba"), (Ids{kB, kA}));
  EXPECT_EQ(tokenizer.encode("\u00e9"), (Ids{kC3, kA9}));
}

TEST(SentencePieceByRank, MetaspaceSplitMergesWithinWords) {
  TokenizerSpec spec = ten_piece_spec();
  spec.scores.clear();
  spec.merges = {{"b", "\u2581"}, {"\u2581", "a"}};  // "b▁" is no piece: the merge is refused
  EXPECT_THROW(Tokenizer{spec}, Error);
  spec.tokens.push_back("b\u2581");
  spec.types.push_back(TokenType::Normal);
  spec.split_at_spaces = false;
  EXPECT_EQ(Tokenizer(spec).encode("b a"), (Ids{11, kA}));
  spec.split_at_spaces = true;  // words "b", "▁a": "b▁" cannot form across them
  EXPECT_EQ(Tokenizer(spec).encode("b a"), (Ids{kB, kMarkA}));
}

TEST(SentencePieceMerges, ScoresAndMergeListsConvertBothWays) {
  TokenizerSpec spec = ten_piece_spec();
  std::vector<bool> normal;
  for (TokenType type : spec.types) normal.push_back(type == TokenType::Normal);
  MergeList merges = merges_from_scores(spec.tokens, normal, spec.scores);
  EXPECT_EQ(merges, (MergeList{{"b", "a"}, {"a", "b"}, {"\u2581", "a"}, {"\u2581", "ab"}, {"\u2581a", "b"}}));
  std::vector<float> scores = scores_from_merges(spec.tokens, merges);
  EXPECT_EQ(scores[kBa], 0);
  EXPECT_EQ(scores[kAb], -1);
  EXPECT_EQ(scores[kMarkAb], -3);  // its best rank
  EXPECT_EQ(scores[kA], -6);       // below every merge
}

TEST(SentencePieceMerges, ByteTokenNames) {
  EXPECT_EQ(byte_token_name(0x0A), "<0x0A>");
  EXPECT_EQ(byte_of_token_name("<0xFF>"), 0xFF);
  EXPECT_FALSE(byte_of_token_name("<0xff>"));
  EXPECT_FALSE(byte_of_token_name("<0x4>"));
  EXPECT_FALSE(byte_of_token_name("<0x4G>"));
}

// ---------------------------------------------------------------- oracles on the corpus

struct Reference {
  std::string text;
  Ids ids;
  std::string decoded;
};

std::vector<Reference> read_references(const std::string& name) {
  std::ifstream in(fixture(name));
  EXPECT_TRUE(in) << name;
  std::vector<Reference> references;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    json entry = json::parse(line);
    references.push_back({entry["text"], entry["ids"].get<Ids>(), entry["decoded"]});
  }
  EXPECT_GT(references.size(), 200u) << name;
  return references;
}

// Ids as the reference gives them (special tokens parsed, no BOS), and decodes.
void expect_matches(const Tokenizer& tokenizer, const std::string& reference_name) {
  size_t mismatches = 0;
  for (const Reference& reference : read_references(reference_name)) {
    Ids ids = tokenizer.encode(reference.text);
    if (tokenizer.spec().add_bos && !ids.empty() && ids[0] == tokenizer.spec().bos_id) ids.erase(ids.begin());
    EXPECT_EQ(ids, reference.ids) << reference_name << ": " << json(reference.text).dump();
    EXPECT_EQ(tokenizer.decode(reference.ids), reference.decoded)
        << reference_name << ": " << json(reference.text).dump();
    if (ids != reference.ids && ++mismatches > 5) FAIL() << "more mismatches follow";
  }
}

TEST(SentencePieceOracle, SmallGgufVocabulariesMatchLlamaCpp) {
  for (std::string name : {"small_prefix", "small_noprefix"}) {
    Tokenizer tokenizer = Tokenizer::from_gguf(GgufFile::open(fixture(name + ".gguf")));
    EXPECT_EQ(tokenizer.spec().model, TokenizerModel::SentencePieceBpe);
    EXPECT_EQ(tokenizer.spec().space_prefix, name == "small_prefix" ? SpacePrefix::EveryStretch : SpacePrefix::None);
    expect_matches(tokenizer, "expected_" + name + ".jsonl");
  }
}

TEST(SentencePieceOracle, TokenizerJsonFilesMatchHuggingFace) {
  for (std::string name : {"hf_legacy", "hf_metaspace"}) {
    Tokenizer tokenizer = Tokenizer::from_hf_dir(fixture(name));
    EXPECT_EQ(tokenizer.spec().model, TokenizerModel::SentencePieceBpe);
    expect_matches(tokenizer, "expected_" + name + ".jsonl");
  }
}

// ---------------------------------------------------------------- writers

Tokenizer through_gguf(const Tokenizer& tokenizer) {
  GgufWriter writer;
  tokenizer.add_gguf_metadata(writer);
  std::string path = scratch() + "/tokenizer.gguf";
  writer.write(path);
  return Tokenizer::from_gguf(GgufFile::open(path));
}

Tokenizer through_hf_files(const Tokenizer& tokenizer) {
  std::string dir = scratch();
  tokenizer.write_hf_files(dir);
  return Tokenizer::from_hf_dir(dir);
}

TEST(SentencePieceWriters, GgufRoundTripKeepsTheVocabulary) {
  Tokenizer original = Tokenizer::from_gguf(GgufFile::open(fixture("small_prefix.gguf")));
  Tokenizer copy = through_gguf(original);
  EXPECT_EQ(copy.spec().tokens, original.spec().tokens);
  EXPECT_EQ(copy.spec().scores, original.spec().scores);
  EXPECT_EQ(copy.spec().types, original.spec().types);
  EXPECT_EQ(copy.spec().space_prefix, SpacePrefix::EveryStretch);
  EXPECT_EQ(copy.spec().add_bos, original.spec().add_bos);
  expect_matches(copy, "expected_small_prefix.jsonl");
}

TEST(SentencePieceWriters, TokenizerJsonRoundTripsKeepHuggingFacesIds) {
  for (std::string name : {"hf_legacy", "hf_metaspace"})
    expect_matches(through_hf_files(Tokenizer::from_hf_dir(fixture(name))), "expected_" + name + ".jsonl");
}

TEST(SentencePieceWriters, GgufToTokenizerJsonGivesTheMergesTransformersDerives) {
  // transformers' converter made hf_legacy from small_prefix.gguf; Whet's writer must agree.
  Tokenizer written = through_hf_files(Tokenizer::from_gguf(GgufFile::open(fixture("small_prefix.gguf"))));
  EXPECT_EQ(written.spec().space_prefix, SpacePrefix::EveryStretch);
  expect_matches(written, "expected_hf_legacy.jsonl");
}

TEST(SentencePieceWriters, TokenizerJsonToGgufGivesLlamaCppsIds) {
  Tokenizer written = through_gguf(Tokenizer::from_hf_dir(fixture("hf_legacy")));
  EXPECT_EQ(written.token_id("<0x0A>") >= 0, true);
  EXPECT_EQ(written.spec().types[written.token_id("<0x0A>")], TokenType::Byte);
  expect_matches(written, "expected_small_prefix.jsonl");
}

// ---------------------------------------------------------------- Gemma 3 270M

std::string gemma3_path() {
  if (const char* path = std::getenv("WHET_GEMMA3_MODEL")) return path;
  const char* cache = std::getenv("WHET_CACHE");
  return (cache ? std::string(cache) : std::string(std::getenv("HOME")) + "/.cache/whet") +
         "/models/gemma-3-270m.Q4_K_M.gguf";
}

// Loaded once for the suite, in the first test that runs, so that a file that
// does not open fails that test with the reason.
class Gemma3Tokenizer : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { tokenizer_.reset(); }
  void SetUp() override { WHET_REQUIRE_FILE(gemma3_path(), "scripts/fetch_model.sh gemma3"); }
  static const Tokenizer& tokenizer() {
    if (!tokenizer_) tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_gguf(GgufFile::open(gemma3_path())));
    return *tokenizer_;
  }

 private:
  static std::unique_ptr<Tokenizer> tokenizer_;
};
std::unique_ptr<Tokenizer> Gemma3Tokenizer::tokenizer_;

TEST_F(Gemma3Tokenizer, ReadsTheGgufSettings) {
  const TokenizerSpec& spec = tokenizer().spec();
  EXPECT_EQ(tokenizer().vocab_size(), 262144);
  EXPECT_EQ(spec.model, TokenizerModel::SentencePieceBpe);
  EXPECT_EQ(spec.space_prefix, SpacePrefix::None);
  EXPECT_EQ(spec.tokens[spec.bos_id], "<bos>");
  EXPECT_EQ(spec.tokens[spec.eos_id], "<eos>");
  EXPECT_EQ(spec.tokens[spec.eot_id], "<end_of_turn>");
  EXPECT_TRUE(spec.add_bos);
}

TEST_F(Gemma3Tokenizer, IdsAndDecodesMatchLlamaCppOnTheWholeCorpus) {
  expect_matches(tokenizer(), "expected_gemma3.jsonl");
}

// Not under ASan: writing 262,144 tokens' merges takes most of a minute there,
// and the hostile-input tests below cover the parse paths.
#ifndef WHET_ASAN
TEST_F(Gemma3Tokenizer, BothWritersRoundTrip) {
  expect_matches(through_gguf(tokenizer()), "expected_gemma3.jsonl");
  expect_matches(through_hf_files(tokenizer()), "expected_gemma3.jsonl");
}

// The whole text is one stretch to merge (no pre-tokenizer split): a megabyte
// must still encode in one call and decode back exactly.
TEST_F(Gemma3Tokenizer, EncodesAMegabyteInOneStretchAndDecodesItBack) {
  std::string text;
  std::vector<Reference> references = read_references("expected_gemma3.jsonl");
  for (size_t i = 0; text.size() < (1u << 20); ++i) text += references[i % references.size()].text + " ";
  Ids ids = tokenizer().encode(text, /*parse_special=*/false);
  EXPECT_GT(ids.size(), text.size() / 8);
  EXPECT_EQ(tokenizer().decode(ids, /*skip_special=*/true), text);
}
#endif

// ---------------------------------------------------------------- hostile metadata

// A SentencePiece GGUF holding only tokenizer metadata, with `changes` on top of a valid set.
std::string write_sentencepiece_gguf(const std::vector<std::pair<std::string, GgufValue>>& changes) {
  GgufWriter writer;
  writer.set("tokenizer.ggml.model", GgufValue::make_string("llama"));
  writer.set("tokenizer.ggml.tokens", GgufValue::make_strings({"<unk>", "<0x41>", "a", "b", "ab"}));
  writer.set("tokenizer.ggml.scores", GgufValue::make_f32s({0, 0, -3, -4, -1}));
  writer.set("tokenizer.ggml.token_type", GgufValue::make_i32s({2, 6, 1, 1, 1}));
  writer.set("tokenizer.ggml.add_space_prefix", GgufValue::make_bool(false));
  for (const auto& [key, value] : changes) writer.set(key, value);
  std::string path = scratch() + "/tokenizer.gguf";
  writer.write(path);
  return path;
}

TEST(SentencePieceHostile, ValidMetadataLoads) {
  Tokenizer tokenizer = Tokenizer::from_gguf(GgufFile::open(write_sentencepiece_gguf({})));
  // add_bos defaults to true for "llama" vocabularies, but this one has no bos id.
  EXPECT_EQ(tokenizer.encode("abA"), (Ids{4, 1}));
}

TEST(SentencePieceHostile, BadScoresAreErrorsNamingTheKey) {
  std::string short_scores = write_sentencepiece_gguf({{"tokenizer.ggml.scores", GgufValue::make_f32s({0, 0})}});
  expect_error([&] { Tokenizer::from_gguf(GgufFile::open(short_scores)); },
               {short_scores, "tokenizer.ggml.scores", "2 scores for 5 tokens"});
  std::string missing = write_sentencepiece_gguf({{"tokenizer.ggml.scores", GgufValue::make_strings({"x"})}});
  expect_error([&] { Tokenizer::from_gguf(GgufFile::open(missing)); }, {missing, "tokenizer.ggml.scores"});
  std::string nan = write_sentencepiece_gguf({{"tokenizer.ggml.scores", GgufValue::make_f32s({0, 0, NAN, 0, 0})}});
  expect_error([&] { Tokenizer::from_gguf(GgufFile::open(nan)); }, {nan, "tokenizer.ggml.scores[2]", "finite"});
}

TEST(SentencePieceHostile, ByteTokenOfBadFormIsAnError) {
  for (std::string bad : {"<0x4>", "<0x4g>", "A", "<0x414>"}) {
    std::string path = write_sentencepiece_gguf(
        {{"tokenizer.ggml.tokens", GgufValue::make_strings({"<unk>", bad, "a", "b", "ab"})}});
    expect_error([&] { Tokenizer::from_gguf(GgufFile::open(path)); }, {path, "tokenizer.ggml.tokens[1]", "<0xNN>"});
  }
}

TEST(SentencePieceHostile, UnknownModelIsAnError) {
  std::string path = write_sentencepiece_gguf({{"tokenizer.ggml.model", GgufValue::make_string("t5")}});
  expect_error([&] { Tokenizer::from_gguf(GgufFile::open(path)); }, {path, "tokenizer.ggml.model", "'t5'"});
}

json legacy_tokenizer_json() {
  std::ifstream in(fixture("hf_legacy/tokenizer.json"));
  return json::parse(in);
}

std::string write_tokenizer_dir(const json& tokenizer_json) {
  std::string dir = scratch();
  std::ofstream(dir + "/tokenizer.json") << tokenizer_json.dump();
  return dir;
}

TEST(SentencePieceHostile, UnsupportedTokenizerJsonStepsAreErrorsNamingTheKey) {
  json lowercase = legacy_tokenizer_json();
  lowercase["normalizer"]["normalizers"][1] = {{"type", "Lowercase"}};
  expect_error([&] { Tokenizer::from_hf_dir(write_tokenizer_dir(lowercase)); },
               {"normalizer.normalizers[1]", "Lowercase"});
  json other_replace = legacy_tokenizer_json();
  other_replace["normalizer"]["normalizers"][1]["content"] = "_";
  expect_error([&] { Tokenizer::from_hf_dir(write_tokenizer_dir(other_replace)); },
               {"normalizer.normalizers[1]", "Replace"});
  json no_spaces = legacy_tokenizer_json();
  no_spaces["normalizer"] = nullptr;
  expect_error([&] { Tokenizer::from_hf_dir(write_tokenizer_dir(no_spaces)); }, {"normalizer", "Metaspace"});
  json whitespace = legacy_tokenizer_json();
  whitespace["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_error([&] { Tokenizer::from_hf_dir(write_tokenizer_dir(whitespace)); }, {"pre_tokenizer.type", "Whitespace"});
  json scheme = legacy_tokenizer_json();
  scheme["normalizer"] = nullptr;
  scheme["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "sometimes"}};
  expect_error([&] { Tokenizer::from_hf_dir(write_tokenizer_dir(scheme)); },
               {"pre_tokenizer.prepend_scheme", "sometimes"});
}

}  // namespace
}  // namespace whet
