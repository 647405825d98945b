#include "prepare/manifest.h"

#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "prepare/sources.h"

namespace whet {
namespace {

using json = nlohmann::ordered_json;

std::string hex(uint64_t hash) { return fmt::format("{:016x}", hash); }

json input_entry(const std::string& shown, const std::string& path) {
  const FileHash h = hash_file(path);
  return {{"path", shown}, {"bytes", h.bytes}, {"xxh3_64", hex(h.hash)}};
}

json counts(const std::map<std::string, size_t>& m) {
  json out = json::object();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

}  // namespace

FileHash hash_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) fail(path, "cannot open: {}", std::strerror(errno));
  std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> state(XXH3_createState(), &XXH3_freeState);
  XXH3_64bits_reset(state.get());
  std::vector<char> buffer(size_t(1) << 20);
  FileHash out;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
    XXH3_64bits_update(state.get(), buffer.data(), n);
    out.bytes += n;
  }
  if (std::ferror(file.get())) fail(path, "read error: {}", std::strerror(errno));
  out.hash = XXH3_64bits_digest(state.get());
  return out;
}

std::string manifest_json(const PipelineConfig& config, const PipelineResult& result) {
  json inputs = json::array();
  for (const SourceConfig& source : config.sources)
    for (const auto& [path, shown] : source_files(config, source)) inputs.push_back(input_entry(shown, path));
  for (const std::string& eval : config.leakage.eval_files) inputs.push_back(input_entry(eval, resolve_path(config, eval)));

  json stages = json::array();
  for (const StageReport& s : result.ledger.stages()) {
    stages.push_back({{"stage", s.stage}, {"in", s.in}, {"out", s.out}, {"dropped", counts(s.dropped)},
                      {"changed", counts(s.changed)}, {"added", counts(s.added)}, {"found", counts(s.counts)}});
  }
  json outputs = json::array();
  for (const OutputFile& o : result.outputs)
    outputs.push_back({{"file", o.name}, {"records", o.records}, {"bytes", o.bytes}, {"xxh3_64", hex(o.hash)}});
  const json manifest = {{"whet_data_manifest", 1},
                         {"seed", config.seed},
                         {"config", json::parse(pipeline_config_json(config))},
                         {"inputs", inputs},
                         {"stages", stages},
                         {"leaks", result.leaks.size()},
                         {"outputs", outputs}};
  return manifest.dump(2) + "\n";
}

}  // namespace whet
