#include "kernels/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "core/phase_timer.h"
#include "kernels/distill.h"
#include "kernels/linear.h"
#include "kernels/row_max.h"
#include "kernels/softcap.h"
#include "kernels/vector_exp.h"

namespace whet {

namespace {

// Rows of logits per chunk: 128 × a 49k vocabulary is 24 MiB of scratch. Each
// chunk streams the whole head (113 MiB in fp32 for 49k × 576) through the cache
// twice, so fewer, larger chunks cost less: the head took 18% less time than with
// 64 rows in a DPO step of the default model (whet bench preference, 2026-12-05).
constexpr int64_t kChunkRows = 128;

// Turns each logits row into grad_scale · weight_i · (softmax - onehot(target)) in place
// (weights null: 1); returns Σ -log p(target), each row's also into row_losses when not null.
// One exponential per logit, kept in the row; the denominator sums them in double.
// With `gradient16`, the gradient is written there rounded to bf16 instead (the
// rows keep the exponentials): a bf16 head's product takes it so, and the pass
// that scales the row writes it, not a pass of its own over 25 MB a chunk.
double softmax_loss_rows(float* logits, const int32_t* targets, int64_t rows, int64_t vocab, float grad_scale,
                         const float* weights, double* row_losses, uint16_t* gradient16) {
  double loss = 0.0;
#pragma omp parallel for reduction(+ : loss) schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    float* row = logits + i * vocab;
    const float max_logit = max_of(row, 0, vocab);
    const float target_logit = row[targets[i]];
    double denom = 0.0;
#pragma omp simd reduction(+ : denom)
    for (int64_t v = 0; v < vocab; ++v) denom += double(row[v] = vector_exp(row[v] - max_logit));
    const double row_loss = std::log(denom) - double(target_logit - max_logit);
    loss += row_loss;
    if (row_losses) row_losses[i] = row_loss;
    const float scale = weights ? grad_scale * weights[i] : grad_scale;
    const float factor = float(scale / denom);
    if (gradient16) {
      uint16_t* gradient_row = gradient16 + i * vocab;
#pragma omp simd
      for (int64_t v = 0; v < vocab; ++v) gradient_row[v] = f32_to_bf16(row[v] * factor);
      gradient_row[targets[i]] = f32_to_bf16(row[targets[i]] * factor - scale);
      continue;
    }
#pragma omp simd
    for (int64_t v = 0; v < vocab; ++v) row[v] *= factor;
    row[targets[i]] -= scale;
  }
  return loss;
}

}  // namespace

CrossEntropyResult lm_head_cross_entropy(float* dh, float* dweight, const float* h, const int32_t* targets, int64_t n,
                                         const Weight& w, float grad_scale, const HeadDistillation& distill,
                                         const RowTerms& row_terms, float softcap) {
  const PhaseScope phase("LM head and loss");
  const int64_t c = w.cols, vocab = w.rows;
  // A quantized or fp16 head would be decoded whole by every chunk's forward and
  // backward: decode it once instead (fp32 and bf16 multiply as stored).
  const Weight head = w.dtype == DType::F32 || w.dtype == DType::BF16 ? w : convert_weight(w, DType::F32);
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n; ++i)
    if (targets[i] >= 0) rows.push_back(i);
  if (dh) std::memset(dh, 0, sizeof(float) * n * c);
  CrossEntropyResult result{0.0, int64_t(rows.size())};
  std::vector<float> h_chunk(kChunkRows * c), dh_chunk(kChunkRows * c);
  // Written whole before each read: not cleared first (37 MB a step with the gradient's rounding).
  const std::unique_ptr<float[]> logits = std::make_unique_for_overwrite<float[]>(size_t(kChunkRows * vocab));
  const bool distilling = distill.teacher_h != nullptr;
  std::vector<float> teacher_chunk(distilling ? kChunkRows * c : 0), teacher_logits(distilling ? kChunkRows * vocab : 0);
  std::vector<int32_t> target_chunk(kChunkRows);
  std::vector<float> weight_chunk(row_terms.weights ? kChunkRows : 0);
  std::vector<double> loss_chunk(row_terms.losses ? kChunkRows : 0);
  // The capped logits, kept for the cap's slope once the logits have become their gradient.
  std::vector<float> capped(softcap > 0 && dh ? kChunkRows * vocab : 0);
  // A bf16 head multiplies the gradient in bf16: rounded as the loss makes it,
  // where nothing is added to it afterwards (distillation's, the cap's slope).
  const std::unique_ptr<uint16_t[]> gradient16 =
      dh && head.dtype == DType::BF16 && !distilling && capped.empty()
          ? std::make_unique_for_overwrite<uint16_t[]>(size_t(kChunkRows * vocab))
          : nullptr;
  for (size_t first = 0; first < rows.size(); first += kChunkRows) {
    const int64_t m = std::min<int64_t>(kChunkRows, int64_t(rows.size() - first));
    for (int64_t i = 0; i < m; ++i) {
      std::memcpy(h_chunk.data() + i * c, h + rows[first + i] * c, sizeof(float) * c);
      if (distilling)
        std::memcpy(teacher_chunk.data() + i * c, distill.teacher_h + rows[first + i] * c, sizeof(float) * c);
      target_chunk[i] = targets[rows[first + i]];
      if (row_terms.weights) weight_chunk[i] = row_terms.weights[rows[first + i]];
    }
    linear_forward(logits.get(), h_chunk.data(), m, head);
    softcap_forward(logits.get(), m * vocab, softcap);
    if (!capped.empty()) std::copy_n(logits.get(), m * vocab, capped.data());
    if (distilling) {
      // The teacher's logits become the distillation gradient in place, before
      // the student's become the cross-entropy gradient; then the two add up.
      linear_forward(teacher_logits.data(), teacher_chunk.data(), m, head);
      softcap_forward(teacher_logits.data(), m * vocab, softcap);
      result.distill_sum += distill_rows(dh ? teacher_logits.data() : nullptr, logits.get(), teacher_logits.data(), m,
                                         vocab, distill.temperature, distill.grad_scale);
    }
    result.loss_sum += softmax_loss_rows(logits.get(), target_chunk.data(), m, vocab, grad_scale,
                                         row_terms.weights ? weight_chunk.data() : nullptr,
                                         row_terms.losses ? loss_chunk.data() : nullptr,
                                         gradient16.get());
    if (row_terms.losses)
      for (int64_t i = 0; i < m; ++i) row_terms.losses[rows[first + i]] = loss_chunk[i];
    if (!dh) continue;
    if (distilling)
      for (int64_t k = 0; k < m * vocab; ++k) logits[k] += teacher_logits[k];
    if (!capped.empty()) softcap_backward(logits.get(), capped.data(), m * vocab, softcap);
    linear_backward(dh_chunk.data(), dweight, {logits.get(), gradient16.get()}, h_chunk.data(), m, head,
                    /*accumulate=*/false);
    for (int64_t i = 0; i < m; ++i) std::memcpy(dh + rows[first + i] * c, dh_chunk.data() + i * c, sizeof(float) * c);
  }
  return result;
}

int64_t lm_head_cross_entropy_scratch_bytes(int64_t vocab, int64_t c, bool decoded_head) {
  // One chunk's logits, h_chunk, dh_chunk and targets (the list of rows with a target, 8 bytes a row, is left out),
  // and the logits' gradient in bf16 (a bf16 head's; made by the product's rounding otherwise).
  const int64_t chunks = 4 * (kChunkRows * vocab + 2 * kChunkRows * c + kChunkRows) + 2 * kChunkRows * vocab;
  return chunks + (decoded_head ? 4 * vocab * c : 0);
}

CrossEntropyResult lm_head_cross_entropy_reference(float* dh, float* dweight, const float* h, const int32_t* targets,
                                                   int64_t n, const Weight& w, float grad_scale,
                                                   const HeadDistillation& distill, const RowTerms& row_terms,
                                                   float softcap) {
  const int64_t c = w.cols, vocab = w.rows;
  CrossEntropyResult result;
  std::vector<float> wrow(c);
  std::vector<double> logits(vocab), teacher_logits(vocab), d_distill(vocab, 0.0);
  auto logits_of = [&](const float* x, std::vector<double>& out) {
    for (int64_t v = 0; v < vocab; ++v) {
      weight_row_f32(w, v, wrow.data());
      double sum = 0.0;
      for (int64_t j = 0; j < c; ++j) sum += double(x[j]) * wrow[j];
      out[v] = softcap > 0 ? softcap * std::tanh(sum / softcap) : sum;
    }
  };
  if (dh) std::fill(dh, dh + n * c, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    if (targets[i] < 0) continue;
    ++result.targets;
    logits_of(h + i * c, logits);
    const double max_logit = *std::max_element(logits.begin(), logits.end());
    double denom = 0.0;
    for (int64_t v = 0; v < vocab; ++v) denom += std::exp(logits[v] - max_logit);
    const double row_loss = std::log(denom) + max_logit - logits[targets[i]];
    result.loss_sum += row_loss;
    if (row_terms.losses) row_terms.losses[i] = row_loss;
    const double scale = row_terms.weights ? double(grad_scale) * row_terms.weights[i] : double(grad_scale);
    if (distill.teacher_h) {
      logits_of(distill.teacher_h + i * c, teacher_logits);
      result.distill_sum +=
          distill_row_reference(d_distill.data(), logits.data(), teacher_logits.data(), vocab, distill.temperature);
    }
    if (!dh) continue;
    for (int64_t v = 0; v < vocab; ++v) {
      const double capped_slope = softcap > 0 ? 1.0 - (logits[v] / softcap) * (logits[v] / softcap) : 1.0;
      const double d_logit = ((std::exp(logits[v] - max_logit) / denom - (v == targets[i] ? 1.0 : 0.0)) * scale +
                              d_distill[v] * distill.grad_scale) * capped_slope;
      weight_row_f32(w, v, wrow.data());
      for (int64_t j = 0; j < c; ++j) {
        dh[i * c + j] += float(d_logit * wrow[j]);
        if (dweight) dweight[v * c + j] += float(d_logit * h[i * c + j]);
      }
    }
  }
  return result;
}

}  // namespace whet
