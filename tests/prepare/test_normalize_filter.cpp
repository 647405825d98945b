// Normalisation and quality filters on hand-made text, with the expected
// numbers worked out in the comments.
#include <gtest/gtest.h>

#include "prepare/filters.h"
#include "prepare/normalize.h"
#include "pipeline_test_support.h"

namespace whet {
namespace {

TEST(DataPipelineNormalize, UnicodeForms) {
  EXPECT_EQ(unicode_normalize("e\u0301", false), "\u00e9");          // NFC composes e + combining acute
  EXPECT_EQ(unicode_normalize("\ufb01ne", false), "\ufb01ne");       // NFC keeps the fi ligature
  EXPECT_EQ(unicode_normalize("\ufb01ne \u2460", true), "fine 1");   // NFKC unfolds it, and the circled one
}

TEST(DataPipelineNormalize, WhitespaceAndControl) {
  EXPECT_EQ(normalize_whitespace("  a  b\t\tc  \r\n\r\n\r\n\n  d\u00a0e  "), "a b c\n\n  d e");
  EXPECT_EQ(normalize_whitespace("x\n    indented  code"), "x\n    indented code");
  EXPECT_EQ(normalize_whitespace(" \n\t "), "");
  EXPECT_EQ(remove_control_characters("a\x01" "b\x7f" "c\td\n\u0085e"), "abc\td\ne");
}

TEST(DataPipelineNormalize, HtmlAndCase) {
  EXPECT_EQ(strip_html("<p>Fish &amp; chips</p><script>alert(1)</script>x&lt;y &#233;&#x41;<!-- c -->"),
            "\nFish & chips\nx<y \u00e9A");
  EXPECT_EQ(strip_html("a < b and 3<4"), "a < b and 3<4");  // not tags
  EXPECT_EQ(strip_html("&bogus; &#0; &#99999999;"), "&bogus; &#0; &#99999999;");
  EXPECT_EQ(lowercase("POSITIVE \u00c9t\u00c9"), "positive \u00e9t\u00e9");
}

TEST(DataPipelineNormalize, StageCountsChangesPerStep) {
  std::vector<Record> records = {test::completion("Hello  world", "Positive", 0), test::completion("clean", "negative", 1)};
  NormalizeConfig config;
  config.lowercase_labels = true;
  Ledger ledger;
  normalize_stage(records, config, "completion", ledger);
  const StageReport& s = ledger.stages().back();
  EXPECT_EQ(s.changed.at("whitespace normalized"), 1u);
  EXPECT_EQ(s.changed.at("label lowercased"), 1u);
  EXPECT_EQ(records[0].example.prompt, "Hello world");
  EXPECT_EQ(records[0].example.completion, "positive");
  EXPECT_EQ(records[0].marks, (std::vector<std::string>{"normalize: whitespace normalized", "normalize: label lowercased"}));
  EXPECT_TRUE(records[1].marks.empty());
}

TEST(DataPipelineFilter, Measures) {
  EXPECT_EQ(visible_characters(" a\u00e9 \n b "), 3u);
  // 8 words, 6 trigrams: "a b c" "b c a" "c a b" "a b c"(repeat) "b c a"(repeat) "c a b"(repeat) -> 3/6.
  EXPECT_DOUBLE_EQ(repetition_ratio("a b c a b c a b"), 0.5);
  EXPECT_DOUBLE_EQ(repetition_ratio("two words"), 0.0);
  // "ab!?" : 4 visible, 2 symbols.
  EXPECT_DOUBLE_EQ(symbol_ratio("ab !?"), 0.5);
  EXPECT_DOUBLE_EQ(symbol_ratio("\u00e9t\u00e9 42"), 0.0);
}

TEST(DataPipelineFilter, ReasonsInOrder) {
  FilterConfig config;
  config.max_repetition = 0.4;
  config.max_symbol_ratio = 0.3;
  config.labels = {"yes", "no"};
  config.min_tokens = 3;
  Record empty = test::completion("p", " ", 0);
  EXPECT_EQ(filter_reason(empty, config, "completion")->category, "empty or near-empty field");
  Record short_one = test::completion("p", "yes", 1);
  short_one.tokens = 2;
  EXPECT_EQ(filter_reason(short_one, config, "completion")->category, "too few tokens");
  Record repetitive = test::completion("go go go go go go", "yes", 2);
  repetitive.tokens = 9;
  EXPECT_EQ(filter_reason(repetitive, config, "completion")->category, "repetitive");
  Record symbols = test::completion("#### $$$$ !!!!", "no", 3);
  symbols.tokens = 9;
  EXPECT_EQ(filter_reason(symbols, config, "completion")->category, "mostly symbols");
  Record label = test::completion("a fine prompt", "maybe", 4);
  label.tokens = 9;
  EXPECT_EQ(filter_reason(label, config, "completion")->category, "label not allowed");
  Record good = test::completion("a fine prompt", "no", 5);
  good.tokens = 9;
  EXPECT_FALSE(filter_reason(good, config, "completion"));
}

TEST(DataPipelineFilter, StageCountsTokensWithTheTokenizer) {
  const TokenCounter counter(test::tiny_tokenizer(), ChatTemplate::by_name("chatml"));
  std::vector<Record> records = {test::completion("", "hello", 0), test::completion("", "hello hello hello", 1)};
  FilterConfig config;
  config.max_tokens = 8;
  Ledger ledger;
  filter_stage(records, config, "", &counter, ledger);
  // "hello" is "he" "ll" "o" plus EOS: 4 tokens. "hello hello hello" is 3 + 4 + 4 ("Ġ" "he" "ll" "o") + EOS = 12 > 8.
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].tokens, 4u);
  EXPECT_EQ(ledger.stages().back().dropped.at("too many tokens"), 1u);
}

}  // namespace
}  // namespace whet
