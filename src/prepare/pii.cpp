#include "prepare/pii.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>

#include "core/error.h"
#include "prepare/stages.h"

namespace whet {
namespace {

using Check = bool (*)(std::string_view);

// The (?C1) at the end of a built-in pattern hands the candidate to its check.
constexpr std::string_view kEmail = R"((?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-]))";
constexpr std::string_view kIban = R"(\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b(?C1))";
constexpr std::string_view kCard = R"((?<![\w-])\d(?:[ -]?\d){12,18}(?!\w)(?C1))";
constexpr std::string_view kIp =
    R"((?<![\w.:])(?:(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)|(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:]))(?C1))";
constexpr std::string_view kPhone =
    R"((?<![\w+])(?:\+\d{7,15}|(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,5}){0,4})(?!\w)(?C1))";

// A hostile line must not make one regex run for minutes.
constexpr uint32_t kMatchLimit = 10'000'000;

std::string digits_of(std::string_view text) {
  std::string digits;
  for (char c : text)
    if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
  return digits;
}

bool card_check(std::string_view text) { return luhn_valid(digits_of(text)); }

bool ip_check(std::string_view text) {
  if (text.find(':') == std::string_view::npos) return ipv4_valid(text);
  // IPv6: a real address, and more than a "::" or "a::b" that code is full of.
  in6_addr address;
  const std::string s(text);
  const auto groups = std::count_if(s.begin(), s.end(), [](char c) { return c == ':'; });
  size_t filled = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != ':' && (i == 0 || s[i - 1] == ':')) ++filled;
  return groups >= 2 && filled >= 3 && inet_pton(AF_INET6, s.c_str(), &address) == 1;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

int run_check(pcre2_callout_block* block, void* data) {
  const auto check = reinterpret_cast<Check>(data);
  const std::string_view candidate(reinterpret_cast<const char*>(block->subject) + block->start_match,
                                   block->current_position - block->start_match);
  return check(candidate) ? 0 : 1;  // 1: fail here and let the pattern backtrack
}

}  // namespace

bool luhn_valid(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {
    if (!std::isdigit(static_cast<unsigned char>(digits[i]))) return false;
    int d = digits[i] - '0';
    if (twice && (d *= 2) > 9) d -= 9;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool iban_valid(std::string_view iban) {
  std::string compact;
  for (char c : iban)
    if (c != ' ') compact += c;
  if (compact.size() < 15 || compact.size() > 34) return false;
  // Move the country code and check digits to the end; letters count as 10..35.
  const std::string rearranged = compact.substr(4) + compact.substr(0, 4);
  int remainder = 0;
  for (char c : rearranged) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else if (c >= 'A' && c <= 'Z') {
      remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return remainder == 1;
}

bool ipv4_valid(std::string_view address) {
  int octets = 0;
  size_t i = 0;
  while (i <= address.size()) {
    size_t end = address.find('.', i);
    if (end == std::string_view::npos) end = address.size();
    const std::string_view octet = address.substr(i, end - i);
    if (octet.empty() || octet.size() > 3 || (octet.size() > 1 && octet[0] == '0')) return false;
    int value = 0;
    for (char c : octet) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      value = value * 10 + (c - '0');
    }
    if (value > 255) return false;
    ++octets;
    i = end + 1;
  }
  return octets == 4;
}

bool phone_plausible(std::string_view number) {
  const size_t digits = digits_of(number).size();
  if (digits < 7 || digits > 15) return false;
  // 2024-01-15, 15.01.2024, 1/15/2024: dates, not phones.
  std::string shape;
  for (char c : number) shape += std::isdigit(static_cast<unsigned char>(c)) ? 'd' : c;
  for (std::string_view date : {"dddd-dd-dd", "dddd.dd.dd", "dddd/dd/dd", "dd.dd.dddd", "dd-dd-dddd", "dd/dd/dddd"})
    if (shape == date) return false;
  return true;
}

struct PiiScanner::Detector {
  std::string name, placeholder;
  pcre2_code* code = nullptr;
  Check check = nullptr;

  ~Detector() { pcre2_code_free(code); }
};

PiiScanner::PiiScanner(const PiiConfig& config) {
  auto add = [&](const std::string& name, std::string_view pattern, Check check) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
    if (!code)
      fail("pii.patterns " + name, "regex does not compile at offset {}: {}", offset, pcre2_message(error));
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // a speed-up when available; the interpreter runs otherwise
    auto detector = std::make_unique<Detector>();
    std::string upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return char(std::toupper(c)); });
    detector->name = name;
    detector->placeholder = "[" + upper + "]";
    detector->code = code;
    detector->check = check;
    detectors_.push_back(std::move(detector));
  };
  if (config.mode == "off") return;
  for (const PiiPattern& p : config.patterns) add(p.name, p.regex, nullptr);
  auto wanted = [&](const char* type) {
    return std::find(config.types.begin(), config.types.end(), type) != config.types.end();
  };
  // Order matters: an e-mail address or IBAN holds digits the later patterns would take.
  if (wanted("email")) add("email", kEmail, nullptr);
  if (wanted("iban")) add("iban", kIban, iban_valid);
  if (wanted("credit_card")) add("credit_card", kCard, card_check);
  if (wanted("ip_address")) add("ip_address", kIp, ip_check);
  if (wanted("phone")) add("phone", kPhone, phone_plausible);
}

PiiScanner::~PiiScanner() = default;
PiiScanner::PiiScanner(PiiScanner&&) noexcept = default;

size_t PiiScanner::type_count() const { return detectors_.size(); }
const std::string& PiiScanner::type_name(size_t type) const { return detectors_.at(type)->name; }

std::string PiiScanner::redact(std::string_view text, std::vector<size_t>& hits) const {
  WHET_ASSERT(hits.size() == detectors_.size());
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(pcre2_match_data_create(1, nullptr),
                                                                            &pcre2_match_data_free);
  std::unique_ptr<pcre2_match_context, decltype(&pcre2_match_context_free)> context(
      pcre2_match_context_create(nullptr), &pcre2_match_context_free);
  pcre2_set_match_limit(context.get(), kMatchLimit);
  std::string current(text), out;
  for (size_t t = 0; t < detectors_.size(); ++t) {
    const Detector& d = *detectors_[t];
    pcre2_set_callout(context.get(), d.check ? run_check : nullptr, reinterpret_cast<void*>(d.check));
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(current.data());
    out.clear();
    size_t copied = 0;
    for (size_t start = 0; start <= current.size();) {
      // NOTEMPTY: a user pattern that can match nothing must still move on.
      const int rc = pcre2_match(d.code, subject, current.size(), start, PCRE2_NOTEMPTY | PCRE2_NO_UTF_CHECK,
                                 match.get(), context.get());
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) fail("pii", "{} pattern gave up on the text: {}", d.name, pcre2_message(rc));
      const PCRE2_SIZE* bounds = pcre2_get_ovector_pointer(match.get());
      out.append(current, copied, bounds[0] - copied);
      out += d.placeholder;
      copied = start = bounds[1];
      ++hits[t];
    }
    if (copied == 0) continue;  // nothing found: current stays as it is
    out.append(current, copied);
    current.swap(out);
  }
  return current;
}

void pii_stage(std::vector<Record>& records, const PiiConfig& config, const PiiScanner& scanner, Ledger& ledger) {
  ledger.begin(stage_name(Stage::Pii), records.size());
  if (config.mode == "off") return ledger.end(records.size());
  const bool drop = config.mode == "drop";
  // Scanning is independent per record, so it runs in parallel; the ledger is
  // written afterwards in record order, which keeps the run deterministic.
  std::vector<std::vector<size_t>> hits(records.size(), std::vector<size_t>(scanner.type_count()));
  std::vector<std::string> failure(records.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t i = 0; i < records.size(); ++i) {
    try {
      for (std::string* field : text_fields(records[i])) {
        std::string redacted = scanner.redact(*field, hits[i]);
        if (!drop) *field = std::move(redacted);
      }
      if (!records[i].label.empty()) records[i].label = scanner.redact(records[i].label, hits[i]);
    } catch (const Error& e) {
      failure[i] = e.what();
    }
  }
  std::vector<Reason> reasons(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    std::string found;
    for (size_t t = 0; t < scanner.type_count(); ++t) {
      if (hits[i][t] == 0) continue;
      ledger.current().counts[scanner.type_name(t) + " hits"] += hits[i][t];
      found += (found.empty() ? "" : ", ") + scanner.type_name(t);
    }
    if (!failure[i].empty()) {
      reasons[i] = {"could not be scanned", failure[i]};
    } else if (!found.empty() && drop) {
      reasons[i] = {"personal data", found};
    } else if (!found.empty()) {
      ledger.change(records[i], "redacted " + found);
    }
  }
  drop_marked(records, ledger, reasons);
  ledger.end(records.size());
}

}  // namespace whet
