// PII: the checksums by hand, each type found and replaced, the shapes that must
// not be taken for personal data, user patterns, and the drop mode.
#include <gtest/gtest.h>

#include "prepare/pii.h"
#include "pipeline_test_support.h"

namespace whet {
namespace {

std::string redact(const PiiScanner& scanner, const std::string& text) {
  std::vector<size_t> hits(scanner.type_count());
  return scanner.redact(text, hits);
}

TEST(DataPipelinePii, Luhn) {
  // 4111 1111 1111 1111, every second digit from the right doubled: seven 1s give 14 and the 4 gives 8; the
  // eight undoubled 1s give 8; 14 + 8 + 8 = 30, a multiple of 10.
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_TRUE(luhn_valid("79927398713"));  // the textbook example: sum 70
  EXPECT_FALSE(luhn_valid("79927398710"));
  EXPECT_FALSE(luhn_valid(""));
}

TEST(DataPipelinePii, IbanMod97) {
  // DE89 3704 0044 0532 0130 00: the first four moved to the end, letters as numbers (D=13, E=14):
  // 370400440532013000131489 mod 97 = 1.
  EXPECT_TRUE(iban_valid("DE89 3704 0044 0532 0130 00"));
  EXPECT_TRUE(iban_valid("GB82WEST12345698765432"));
  EXPECT_FALSE(iban_valid("DE88 3704 0044 0532 0130 00"));  // check digits off by one
  EXPECT_FALSE(iban_valid("DE89"));
}

TEST(DataPipelinePii, Ipv4AndPhoneShapes) {
  EXPECT_TRUE(ipv4_valid("192.168.1.254"));
  EXPECT_FALSE(ipv4_valid("256.1.1.1"));
  EXPECT_FALSE(ipv4_valid("01.2.3.4"));
  EXPECT_FALSE(ipv4_valid("1.2.3"));
  EXPECT_TRUE(phone_plausible("+44 20 7946 0958"));
  EXPECT_TRUE(phone_plausible("(555) 123-4567"));
  EXPECT_FALSE(phone_plausible("2024-01-15"));
  EXPECT_FALSE(phone_plausible("12 34"));
}

TEST(DataPipelinePii, EveryTypeIsReplaced) {
  const PiiScanner scanner{PiiConfig{}};
  std::vector<size_t> hits(scanner.type_count());
  const std::string out = scanner.redact(
      "Mail jane.doe+x@mail.example.co.uk, call +44 20 7946 0958 or (555) 123-4567, pay DE89 3704 0044 0532 0130 00 "
      "by card 4111-1111-1111-1111 2024, from 10.0.0.7 or 2001:db8::8a2e:370:7334.",
      hits);
  EXPECT_EQ(out,
            "Mail [EMAIL], call [PHONE] or [PHONE], pay [IBAN] by card [CREDIT_CARD] 2024, from [IP_ADDRESS] or "
            "[IP_ADDRESS].");
  size_t total = 0;
  for (size_t t = 0; t < scanner.type_count(); ++t) {
    total += hits[t];
    if (scanner.type_name(t) == "phone") {
      EXPECT_EQ(hits[t], 2u);
    }
  }
  EXPECT_EQ(total, 7u);
}

TEST(DataPipelinePii, ThingsThatAreNotPersonalData) {
  const PiiScanner scanner{PiiConfig{}};
  for (const char* text : {"Released 2024-01-15, version 1.2.3, 300 units", "std::vector<int> and a::b",
                           "meet at 10:30:00", "ip 999.1.1.1", "user@localhost has no domain"})
    EXPECT_EQ(redact(scanner, text), text);
  // A long number that fails its checksum is not a card or an IBAN (the phone pattern, which is
  // deliberately broad, would still take part of it).
  PiiConfig checked;
  checked.types = {"credit_card", "iban"};
  const PiiScanner checksums(checked);
  for (const char* text : {"card 4111 1111 1111 1112 fails Luhn", "IBAN DE88 3704 0044 0532 0130 00"})
    EXPECT_EQ(redact(checksums, text), text);
}

TEST(DataPipelinePii, UserPatternsRunFirstAndBadOnesAreNamed) {
  PiiConfig config;
  config.types = {"phone"};
  config.patterns = {{"ticket", R"(TCK-\d{8})"}};
  const PiiScanner scanner(config);
  EXPECT_EQ(redact(scanner, "see TCK-12345678 or 555 123 4567"), "see [TICKET] or [PHONE]");
  config.patterns = {{"broken", "(unclosed"}};
  test::expect_error([&] { PiiScanner bad(config); }, {"pii.patterns broken", "does not compile"});
  config.patterns = {{"empty", "x*"}};  // may match nothing: must still end
  EXPECT_EQ(redact(PiiScanner(config), "axxb"), "a[EMPTY]b");
}

TEST(DataPipelinePii, StageRedactsOrDrops) {
  auto records = [] {
    return std::vector<Record>{test::completion("write to a@b.org", "ok", 0), test::completion("nothing here", "ok", 1)};
  };
  PiiConfig config;
  std::vector<Record> redacted = records();
  Ledger ledger;
  pii_stage(redacted, config, PiiScanner(config), ledger);
  ASSERT_EQ(redacted.size(), 2u);
  EXPECT_EQ(redacted[0].example.prompt, "write to [EMAIL]");
  EXPECT_EQ(ledger.stages().back().changed.at("redacted email"), 1u);
  EXPECT_EQ(ledger.stages().back().counts.at("email hits"), 1u);

  config.mode = "drop";
  std::vector<Record> dropped = records();
  pii_stage(dropped, config, PiiScanner(config), ledger);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].example.prompt, "nothing here");
  EXPECT_EQ(ledger.dropped().back().reason, "personal data: email");
}

}  // namespace
}  // namespace whet
