// The engine's low-priority work (the drift monitor's scoring): it runs on the
// engine's own thread, only once the sequences in flight are answered, and its
// errors reach the caller.
#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"
#include "serve/inference_engine.h"
#include "test_support.h"

namespace whet::serve {
namespace {

using std::chrono::milliseconds;

struct EngineFixture {
  LoadedModel model = load_model(test::testdata_path("tiny/gqa_tied") + "/hf", WeightFormat::F32);
  MetricsRegistry metrics;
  InferenceEngine engine;
  explicit EngineFixture(EngineOptions options = {})
      : engine(model, "tiny", options, (describe_engine_metrics(metrics), metrics)) {}

  std::shared_ptr<SequenceStream> submit(int max_tokens) {
    SequenceRequest request;
    request.prompt = {1, 2, 3, 4};
    request.model_name = "tiny";
    request.options.max_tokens = max_tokens;
    return engine.submit(std::move(request));
  }
};

void read_to_the_end(SequenceStream& stream) {
  while (!stream.next().finished) {
  }
}

TEST(InferenceEngineIdleWork, RunsOnTheEngineThread) {
  EngineFixture f;
  std::thread::id ran_on;
  EXPECT_TRUE(f.engine.run_when_idle([&] { ran_on = std::this_thread::get_id(); }, milliseconds(10000)));
  EXPECT_NE(ran_on, std::thread::id());
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(InferenceEngineIdleWork, WaitsForTheSequencesInFlight) {
  EngineFixture f;
  const std::shared_ptr<SequenceStream> stream = f.submit(64);
  bool answered_before_work = false;
  EXPECT_TRUE(f.engine.run_when_idle([&] { answered_before_work = stream->ended(); }, milliseconds(10000)));
  EXPECT_TRUE(answered_before_work);
  read_to_the_end(*stream);
}

TEST(InferenceEngineIdleWork, ItsErrorsReachTheCaller) {
  EngineFixture f;
  test::expect_error([&] { f.engine.run_when_idle([] { fail("drift", "scoring failed"); }, milliseconds(10000)); },
                     {"scoring failed"});
  // The engine goes on answering.
  const std::shared_ptr<SequenceStream> stream = f.submit(4);
  read_to_the_end(*stream);
}

// The second prompt starts like the first: its first positions are copied, and
// its greedy answer is the one an engine without the prefix cache gives.
TEST(InferenceEnginePrefixCache, APromptStartingLikeAnEarlierOneReusesItsPositions) {
  auto answer = [](EngineFixture& f, std::vector<int32_t> prompt) {
    SequenceRequest request;
    request.prompt = std::move(prompt);
    request.model_name = "tiny";
    request.options.max_tokens = 8;
    request.options.sampling.temperature = 0.0f;
    const std::shared_ptr<SequenceStream> stream = f.engine.submit(std::move(request));
    std::string text;
    for (SequenceStream::Update u = stream->next();; u = stream->next()) {
      text += u.text;
      if (u.finished) return text;
    }
  };
  EngineFixture cached, uncached(EngineOptions{.prefix_cache_tokens = 0});
  const std::vector<int32_t> first = {1, 2, 3, 4, 5, 6}, second = {1, 2, 3, 4, 5, 9, 10};
  answer(cached, first);
  EXPECT_EQ(answer(cached, second), answer(uncached, second));
  EXPECT_NE(cached.metrics.render().find("whet_prompt_tokens_cached_total{model=\"tiny\"} 5\n"), std::string::npos)
      << cached.metrics.render();
}

}  // namespace
}  // namespace whet::serve
