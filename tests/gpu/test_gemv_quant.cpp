// The quantized GEMV and dequantisation kernels against the CPU reference formats
// (model/quantize.h): fresh random matrices quantized by the CPU code, the same bytes uploaded,
// results compared with double-precision dots over the CPU's dequantised values. Odd widths take
// the scalar path, multiples of 32/64 the vector path.
#include <cstring>

#include "cpu/ops.h"
#include "gpu_test_util.h"
#include "kernels/gemv_quant.h"
#include "model/quantize.h"

using namespace gander;
using namespace gander::gputest;

namespace {

struct Quantized {
    std::shared_ptr<const model::Weights> w;
    const model::Tensor* t = nullptr;
    std::vector<std::uint8_t> bytes;
    std::vector<__half> scales;
    std::vector<float> deq; // the CPU's dequantised values
};

// Quantizes a random [rows, cols] matrix through convert_weights (as the layer's receptance).
Quantized make(int rows, int cols, Precision p) {
    auto src = std::make_shared<model::Weights>();
    std::vector<float> v = uniform(std::size_t(rows) * cols, -0.05f, 0.05f);
    auto& buf = src->owned.emplace_back(v.size() * 4);
    std::memcpy(buf.data(), v.data(), buf.size());
    src->layers.emplace_back();
    src->layers[0].receptance = model::Tensor{io::DType::F32, {rows, cols}, buf.data(), buf.size()};
    Quantized q;
    q.w = model::convert_weights(src, p);
    q.t = &q.w->layers[0].receptance;
    q.bytes.assign(reinterpret_cast<const std::uint8_t*>(q.t->data),
                   reinterpret_cast<const std::uint8_t*>(q.t->data) + q.t->nbytes);
    const std::size_t n_scales =
        p == Precision::Int8 ? std::size_t(rows) : std::size_t(rows) * ((cols + 63) / 64);
    q.scales.resize(n_scales);
    std::memcpy(q.scales.data(), q.t->scales, n_scales * 2);
    q.deq.resize(std::size_t(rows) * cols);
    q.t->to_f32(q.deq.data());
    return q;
}

} // namespace

TEST_CASE("gemv_quant int8/int4 equals the CPU reference dot products, odd and aligned widths") {
    for (Precision p : {Precision::Int8, Precision::Int4}) {
        for (auto [rows, cols] : {std::pair{37, 100}, std::pair{64, 4096}, std::pair{300, 768},
                                  std::pair{5, 16384}, std::pair{33, 129}}) {
            Quantized q = make(rows, cols, p);
            const auto xf = uniform(std::size_t(cols), -1.0f, 1.0f);
            const auto xh = to_half(xf);
            Dev<std::uint8_t> W(q.bytes);
            Dev<__half> S(q.scales), X(xh);
            Dev<float> Y{static_cast<std::size_t>(rows)};
            kernels::QGemvBatch b;
            b.add({W.p, S.p, X.p, Y.p, rows, cols,
                   p == Precision::Int8 ? kernels::QuantKind::Int8Row : kernels::QuantKind::Int4G64,
                   kernels::GemvOut::StoreF32});
            cuda_ok(kernels::gemv_quant(b, nullptr), "gemv_quant");
            const auto y = Y.get();
            double worst = 0;
            for (int r = 0; r < rows; ++r) {
                double want = 0, mag = 0;
                for (int c = 0; c < cols; ++c) {
                    const double t =
                        double(q.deq[std::size_t(r) * cols + c]) * __half2float(xh[std::size_t(c)]);
                    want += t;
                    mag += std::fabs(t);
                }
                const double e = std::fabs(y[std::size_t(r)] - want) / (mag + 1e-6);
                worst = std::max(worst, e);
                CHECK_MSG(std::isfinite(y[std::size_t(r)]) && e < 1e-4,
                          to_string(p) << " " << rows << "x" << cols << " row " << r << ": "
                                       << y[std::size_t(r)] << " vs " << want);
            }
            std::fprintf(stderr, "  %s %dx%d: worst error / sum|terms| %.2e\n",
                         std::string(to_string(p)).c_str(), rows, cols, worst);

            // Dequantisation for prefill: the exact CPU values, rounded to fp16.
            Dev<__half> D{static_cast<std::size_t>(rows) * cols};
            cuda_ok(kernels::dequantize(b.jobs[0].kind, W.p, S.p, rows, cols, D.p, nullptr),
                    "dequantize");
            const auto d = D.get();
            for (std::size_t i = 0; i < d.size(); ++i)
                REQUIRE(__half2float(d[i]) == __half2float(__float2half_rn(q.deq[i])));
        }
    }
}

GANDER_TEST_MAIN
