#include "prepare/record_store.h"

#include <cstring>

#include "core/error.h"

namespace whet {
namespace {

// Little more than the fields in order, each number as 8 bytes and each string
// as its length and bytes: the file is private to one run, so it needs no
// versioning or portability.
struct Writer {
  std::string out;
  void number(uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void text(const std::string& s) {
    number(s.size());
    out += s;
  }
};

struct Reader {
  std::string_view in;
  uint64_t number() {
    WHET_ASSERT(in.size() >= sizeof(uint64_t));
    uint64_t v;
    std::memcpy(&v, in.data(), sizeof v);
    in.remove_prefix(sizeof v);
    return v;
  }
  std::string text() {
    const uint64_t n = number();
    WHET_ASSERT(in.size() >= n);
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

}  // namespace

std::string encode_record(const Record& r) {
  Writer w;
  const Example& e = r.example;
  w.number(uint64_t(e.format));
  w.text(e.file);
  w.number(e.line);
  w.text(e.text);
  w.text(e.prompt);
  w.text(e.completion);
  w.number(e.messages.size());
  for (const ChatMessage& m : e.messages) {
    w.text(m.role);
    w.text(m.content);
  }
  w.number(e.untrained.size());
  for (size_t u : e.untrained) w.number(u);
  w.text(r.label);
  for (size_t n : {r.source, r.id, r.group, r.tokens, size_t(r.augmented), size_t(r.train_only)}) w.number(n);
  w.text(r.chunk_id);
  uint64_t confidence;
  std::memcpy(&confidence, &r.pseudo_label_confidence, sizeof confidence);
  w.number(confidence);
  w.number(r.marks.size());
  for (const std::string& m : r.marks) w.text(m);
  return std::move(w.out);
}

Record decode_record(std::string_view bytes) {
  Reader rd{bytes};
  Record r;
  Example& e = r.example;
  e.format = DataFormat(rd.number());
  e.file = rd.text();
  e.line = rd.number();
  e.text = rd.text();
  e.prompt = rd.text();
  e.completion = rd.text();
  e.messages.resize(rd.number());
  for (ChatMessage& m : e.messages) {
    m.role = rd.text();
    m.content = rd.text();
  }
  e.untrained.resize(rd.number());
  for (size_t& u : e.untrained) u = rd.number();
  r.label = rd.text();
  for (size_t* n : {&r.source, &r.id, &r.group, &r.tokens}) *n = rd.number();
  r.augmented = rd.number() != 0;
  r.train_only = rd.number() != 0;
  r.chunk_id = rd.text();
  const uint64_t confidence = rd.number();
  std::memcpy(&r.pseudo_label_confidence, &confidence, sizeof confidence);
  r.marks.resize(rd.number());
  for (std::string& m : r.marks) m = rd.text();
  WHET_ASSERT(rd.in.empty());
  return r;
}

RecordStore::RecordStore(const std::string& dir) : file_(dir) {}

size_t RecordStore::append(const Record& record) { return append_encoded(encode_record(record)); }

size_t RecordStore::append_encoded(std::string_view bytes) {
  offsets_.push_back(file_.append(bytes));
  return offsets_.size() - 1;
}

Record RecordStore::read(size_t number) const {
  WHET_ASSERT(number < offsets_.size());
  const uint64_t end = number + 1 < offsets_.size() ? offsets_[number + 1] : file_.size();
  std::string bytes(end - offsets_[number], '\0');
  file_.read(offsets_[number], bytes.data(), bytes.size());
  return decode_record(bytes);
}

}  // namespace whet
