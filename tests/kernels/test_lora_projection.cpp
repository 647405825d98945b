// A projection given its input (or output gradient) already rounded to bf16 gives,
// bit for bit, what it gives rounding them itself: the rounding moved, not changed.
// Projections of one input together give what each gives alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dtype.h"
#include "kernels/linear.h"
#include "kernels/lora.h"
#include "random_tensors.h"

namespace whet {
namespace {

using test::random_values;

std::vector<uint16_t> rounded(const std::vector<float>& x) {
  std::vector<uint16_t> out(x.size());
  round_to_bf16(out.data(), x.data(), int64_t(x.size()));
  return out;
}

TEST(LoraProjection, InputsRoundedBeforeGiveTheSameResults) {
  const int64_t m = 40, in = 96, out = 80, rank = 8;
  const auto w32 = random_values(out * in, 1);
  const Weight base = convert_weight(Weight{DType::F32, out, in, reinterpret_cast<const uint8_t*>(w32.data())},
                                     DType::BF16);
  const auto a = random_values(rank * in, 2), b = random_values(out * rank, 3);
  const auto x = random_values(m * in, 4), dout = random_values(m * out, 5);
  const auto x16 = rounded(x), dout16 = rounded(dout);
  for (const int64_t r : {int64_t(0), rank}) {
    struct Results {
      std::vector<float> y, hidden, dx, grad_a, grad_b, grad_w;
    };
    auto run = [&](bool given) {
      Results res{std::vector<float>(size_t(m * out)), std::vector<float>(size_t(m * rank)),
                  std::vector<float>(size_t(m * in)), std::vector<float>(a.size(), 0.0f),
                  std::vector<float>(b.size(), 0.0f), std::vector<float>(w32.size(), 0.0f)};
      LoraView lora;
      lora.a = a.data(), lora.b = b.data(), lora.grad_a = res.grad_a.data(), lora.grad_b = res.grad_b.data();
      lora.rank = r, lora.scale = 0.5f, lora.bf16_products = true;
      projection_forward(res.y.data(), res.hidden.data(), given ? Activation(x.data(), x16.data()) : x.data(), m,
                         base, lora);
      // Without an adapter the weight trains (full fine-tuning's bf16 copy of its masters).
      projection_backward(res.dx.data(), r == 0 ? res.grad_w.data() : nullptr, given ? Activation(dout.data(), dout16.data()) : dout.data(),
                          x.data(), res.hidden.data(), m, base, lora, false);
      return res;
    };
    const Results own = run(false), given = run(true);
    EXPECT_EQ(own.y, given.y) << "rank " << r;
    EXPECT_EQ(own.hidden, given.hidden) << "rank " << r;
    EXPECT_EQ(own.dx, given.dx) << "rank " << r;
    EXPECT_EQ(own.grad_a, given.grad_a) << "rank " << r;
    EXPECT_EQ(own.grad_b, given.grad_b) << "rank " << r;
    EXPECT_EQ(own.grad_w, given.grad_w) << "rank " << r;
  }
}

// Projections of one input (q, k and v) give together what each gives alone:
// the adapters without dropout multiply the input once for all of them, ranks
// differing; one with dropout, and one without an adapter (its weight training),
// take their own way; so do all of them on fewer rows than their ranks together
// (a decode step's). fp32 sums in another order: 1e-5 of the largest value.
TEST(LoraProjection, ProjectionsOfOneInputGiveWhatEachGivesAlone) {
  for (const int64_t m : {int64_t(40), int64_t(4)}) {
    SCOPED_TRACE(testing::Message() << m << " rows");
    const int64_t in = 96;
    const std::vector<int64_t> outs{80, 48, 48}, ranks{8, 4, 8};
    std::vector<std::vector<float>> values, a, b;
    for (size_t i = 0; i < outs.size(); ++i) {
      values.push_back(random_values(outs[i] * in, uint32_t(10 + i)));
      a.push_back(random_values(ranks[i] * in, uint32_t(20 + i)));
      b.push_back(random_values(outs[i] * ranks[i], uint32_t(30 + i)));
    }
    const auto x = random_values(m * in, 6);
    auto close = [](const std::vector<float>& got, const std::vector<float>& want) {
      float largest = 0.0f;
      for (const float v : want) largest = std::max(largest, std::fabs(v));
      return test::max_abs_diff(got, want) <= 1e-5f * largest;
    };
    for (const DType dtype : {DType::F32, DType::BF16})
      for (const bool dropping : {false, true})
        for (const bool one_frozen : {false, true}) {
          SCOPED_TRACE(testing::Message() << dtype_name(dtype) << (dropping ? ", dropout on v" : "")
                                          << (one_frozen ? ", no adapter on k" : ""));
          struct Run {
            std::vector<std::vector<float>> y, hidden, grad_a, grad_b;
            std::vector<float> dx, grad_w;  // grad_w: k's weight, training where it has no adapter
            std::vector<LoraView> lora;
          };
          std::vector<Weight> w;
          for (size_t i = 0; i < outs.size(); ++i)
            w.push_back(convert_weight(
                Weight{DType::F32, outs[i], in, reinterpret_cast<const uint8_t*>(values[i].data())}, dtype));
          std::vector<std::vector<float>> douts;
          for (size_t i = 0; i < outs.size(); ++i) douts.push_back(random_values(m * outs[i], uint32_t(40 + i)));
          auto run = [&](bool together) {
            Run r;
            for (size_t i = 0; i < outs.size(); ++i) {
              r.y.emplace_back(size_t(m * outs[i]));
              r.hidden.emplace_back(size_t(m * ranks[i]));
              r.grad_a.emplace_back(a[i].size(), 0.0f);
              r.grad_b.emplace_back(b[i].size(), 0.0f);
              LoraView lora;
              lora.a = a[i].data(), lora.b = b[i].data();
              lora.grad_a = r.grad_a[i].data(), lora.grad_b = r.grad_b[i].data();
              lora.rank = one_frozen && i == 1 ? 0 : ranks[i];
              lora.scale = 0.5f, lora.bf16_products = true;
              if (dropping && i == 2) lora.dropout = 0.25f, lora.dropout_seed = 99;
              r.lora.push_back(lora);
            }
            r.dx.assign(size_t(m * in), 0.0f);
            r.grad_w.assign(size_t(outs[1] * in), 0.0f);
            // Without an adapter on k, k's weight trains (full fine-tuning's bf16 copy of its master).
            auto dweight = [&](size_t i) { return one_frozen && i == 1 ? r.grad_w.data() : nullptr; };
            if (together) {
              std::vector<ProjectionOutput> outputs;
              std::vector<ProjectionGradient> gradients;
              for (size_t i = 0; i < outs.size(); ++i) {
                outputs.push_back({r.y[i].data(), r.hidden[i].data(), &w[i], &r.lora[i]});
                gradients.push_back({douts[i].data(), r.hidden[i].data(), &w[i], &r.lora[i], dweight(i)});
              }
              projections_forward(outputs, x.data(), m);
              projections_backward(r.dx.data(), gradients, x.data(), m, false);
              return r;
            }
            for (size_t i = 0; i < outs.size(); ++i) {
              projection_forward(r.y[i].data(), r.hidden[i].data(), x.data(), m, w[i], r.lora[i]);
              projection_backward(r.dx.data(), dweight(i), douts[i].data(), x.data(), r.hidden[i].data(), m, w[i],
                                  r.lora[i], i > 0);
            }
            return r;
          };
          const Run alone = run(false), together = run(true);
          for (size_t i = 0; i < outs.size(); ++i) {
            EXPECT_TRUE(close(together.y[i], alone.y[i])) << "output " << i;
            EXPECT_TRUE(close(together.hidden[i], alone.hidden[i])) << "hidden " << i;
            EXPECT_TRUE(close(together.grad_a[i], alone.grad_a[i])) << "dA " << i;
            EXPECT_TRUE(close(together.grad_b[i], alone.grad_b[i])) << "dB " << i;
          }
          EXPECT_TRUE(close(together.dx, alone.dx)) << "dx";
          EXPECT_TRUE(close(together.grad_w, alone.grad_w)) << "k's weight";
          EXPECT_GT(test::max_abs_diff(together.grad_a[0], std::vector<float>(a[0].size(), 0.0f)), 0.0f);
        }
  }
}

}  // namespace
}  // namespace whet
