// Tokenizer throughput on the default model's vocabulary (Google Benchmark):
// encoding and decoding a megabyte of English prose in one call.
//   build/bench_tokenizer [--benchmark_filter=...]   (WHET_DEFAULT_MODEL overrides the model)
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "io/gguf.h"
#include "models/model_loader.h"
#include "tokenizer/tokenizer.h"

namespace {

const whet::Tokenizer& tokenizer() {
  static const whet::Tokenizer t = whet::Tokenizer::from_gguf(whet::GgufFile::open(whet::default_model_path()));
  return t;
}

std::string megabyte_of_english() {
  const std::string paragraph =
      "The committee met on Tuesday to discuss the budget for next year. After a long debate, members agreed "
      "that the library would receive 12% more funding, while the sports program's allocation stayed flat. "
      "\"We can't do everything at once,\" said the chair, \"but we've made real progress.\"\n";
  std::string text;
  for (int copy = 0; text.size() < (1 << 20); ++copy) text += std::to_string(copy) + ". " + paragraph;
  return text;
}

void BM_EncodeMegabyte(benchmark::State& state) {
  const std::string text = megabyte_of_english();
  size_t tokens = 0;
  for (auto _ : state) {
    const std::vector<int32_t> ids = tokenizer().encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["tokens/s"] = benchmark::Counter(double(tokens) * double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EncodeMegabyte)->Unit(benchmark::kMillisecond);

void BM_DecodeMegabyte(benchmark::State& state) {
  const std::vector<int32_t> ids = tokenizer().encode(megabyte_of_english());
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = tokenizer().decode(ids);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
  state.counters["tokens/s"] = benchmark::Counter(double(ids.size()) * double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeMegabyte)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
