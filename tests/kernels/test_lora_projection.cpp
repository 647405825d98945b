// A projection given its input (or output gradient) already rounded to bf16 gives,
// bit for bit, what it gives rounding them itself: the rounding moved, not changed.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace whet
