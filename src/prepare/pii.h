#pragma once
// Personal data found in text and replaced by typed placeholders ("[EMAIL]").
// Each built-in type is a PCRE2 pattern for the candidates plus a check the
// pattern calls back into (Luhn for card numbers, ISO 7064 mod 97 for IBANs,
// octet ranges for IP addresses), so a failed check lets the regex try a shorter
// candidate instead of missing the number. User patterns run first, so their
// more specific shapes win over the generic ones.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"

namespace whet {

bool luhn_valid(std::string_view digits);      // digits only
bool iban_valid(std::string_view iban);        // spaces allowed between groups
bool ipv4_valid(std::string_view address);
bool phone_plausible(std::string_view number);  // 7 to 15 digits and not shaped like a date

class PiiScanner {
 public:
  // Compiles the built-in types named in config.types and the user patterns.
  // Throws whet::Error naming a user pattern that does not compile.
  explicit PiiScanner(const PiiConfig& config);
  ~PiiScanner();
  PiiScanner(PiiScanner&&) noexcept;

  size_t type_count() const;
  const std::string& type_name(size_t type) const;  // "email", ..., or the user pattern's name

  // `text` with every hit replaced by "[TYPE]"; hits[type] grows by the hits of
  // each type (hits must have type_count() entries). Throws whet::Error when a
  // pattern gives up on the text (backtracking limit).
  std::string redact(std::string_view text, std::vector<size_t>& hits) const;

 private:
  struct Detector;
  std::vector<std::unique_ptr<Detector>> detectors_;
};

// The stage: redact mode rewrites the records, drop mode drops every record
// with a hit (reason: the types found). The counts per type land in the ledger.
void pii_stage(std::vector<Record>& records, const PiiConfig& config, const PiiScanner& scanner, Ledger& ledger);

}  // namespace whet
