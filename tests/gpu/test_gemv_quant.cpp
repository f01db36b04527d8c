// The quantized GEMV and dequantisation kernels against the CPU reference formats
// (model/quantize.h): fresh random matrices quantized by the CPU code, the same bytes uploaded,
// results compared with double-precision dots over the CPU's dequantised values. Odd widths take
// the scalar path, multiples of 32/64 the vector path.
#include <cstring>

#include "cpu/ops.h"
#include "gpu_test_util.h"
#include "kernels/gemv_quant.h"
#include "kernels/gemv_tc.h"
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

namespace {

// One job of the tensor-core kernel with its host-side truth: the CPU's dequantised values (or the
// fp16 values) in double-precision dots with the fp16 x.
struct TcCase {
    kernels::WeightKind kind;
    int rows, cols;
    kernels::GemvOut out;
    std::vector<float> w; // dequantised [rows, cols]
    std::vector<__half> xh;
    std::unique_ptr<Dev<std::uint8_t>> W;
    std::unique_ptr<Dev<__half>> Wh, S, X;
    std::unique_ptr<Dev<float>> Y;
    std::unique_ptr<Dev<__half>> Yh;
    std::vector<float> y0; // AddF32: the values y held before
    kernels::GemvIn in = kernels::GemvIn::Plain;

    TcCase(kernels::WeightKind k, int r, int c, kernels::GemvOut o,
           kernels::GemvIn input = kernels::GemvIn::Plain)
        : kind(k), rows(r), cols(c), out(o), in(input) {
        if (k == kernels::WeightKind::F16) {
            const auto wf = uniform(std::size_t(r) * c, -0.05f, 0.05f);
            const auto wh = to_half(wf);
            w.resize(wh.size());
            for (std::size_t i = 0; i < wh.size(); ++i) w[i] = __half2float(wh[i]);
            Wh = std::make_unique<Dev<__half>>(wh);
        } else {
            Quantized q = make(r, c, k == kernels::WeightKind::Int8Row ? Precision::Int8
                                                                       : Precision::Int4);
            w = q.deq;
            W = std::make_unique<Dev<std::uint8_t>>(q.bytes);
            S = std::make_unique<Dev<__half>>(q.scales);
        }
        xh = to_half(uniform(std::size_t(c), -1.0f, 1.0f));
        X = std::make_unique<Dev<__half>>(xh);
        if (o == kernels::GemvOut::StoreF16 || o == kernels::GemvOut::Relu2F16) {
            Yh = std::make_unique<Dev<__half>>(static_cast<std::size_t>(r));
        } else {
            Y = std::make_unique<Dev<float>>(static_cast<std::size_t>(r));
            if (o == kernels::GemvOut::AddF32) {
                y0 = uniform(std::size_t(r), -1.0f, 1.0f);
                Y->put(y0);
            }
        }
    }
    kernels::TcJob job() const {
        return {kind == kernels::WeightKind::F16 ? static_cast<const void*>(Wh->p) : W->p,
                S ? S->p : nullptr,
                X->p,
                Y ? static_cast<void*>(Y->p) : static_cast<void*>(Yh->p),
                rows,
                cols,
                kind,
                out,
                in};
    }
    // Checks every output; returns the worst error / sum |terms|.
    double check(const char* what) const {
        std::vector<float> got(static_cast<std::size_t>(rows));
        if (Y) {
            got = Y->get();
        } else {
            const auto h = Yh->get();
            for (std::size_t i = 0; i < h.size(); ++i) got[i] = __half2float(h[i]);
        }
        // The kernel applies the input activation in fp32 and keeps the result as fp16.
        std::vector<float> xin(xh.size());
        for (std::size_t i = 0; i < xh.size(); ++i) {
            float v = __half2float(xh[i]);
            if (in == kernels::GemvIn::Tanh) v = __half2float(__float2half_rn(std::tanh(v)));
            if (in == kernels::GemvIn::Sigmoid)
                v = __half2float(__float2half_rn(1.0f / (1.0f + std::exp(-v))));
            xin[i] = v;
        }
        double worst = 0;
        for (int r = 0; r < rows; ++r) {
            double dot = 0, mag = 0;
            for (int c = 0; c < cols; ++c) {
                const double t = double(w[std::size_t(r) * cols + c]) * xin[std::size_t(c)];
                dot += t;
                mag += std::fabs(t);
            }
            double want = dot, tol = 1e-4 * (mag + 1e-6);
            if (out == kernels::GemvOut::AddF32) want += y0[std::size_t(r)];
            if (out == kernels::GemvOut::Relu2F16) {
                const double p = std::max(dot, 0.0);
                want = p * p;
                tol = 2.5e-4 * std::max(2 * p * (mag + 1e-6), 1e-7) + 1e-3 * want;
            } else if (out == kernels::GemvOut::StoreF16) {
                tol += 1e-3 * std::fabs(want);
            }
            const double e = std::fabs(got[std::size_t(r)] - want);
            worst = std::max(worst, e / (mag + 1e-6));
            CHECK_MSG(std::isfinite(got[std::size_t(r)]) && e <= tol,
                      what << " " << rows << "x" << cols << " row " << r << ": "
                           << got[std::size_t(r)] << " vs " << want);
        }
        return worst;
    }
};

const char* kind_name(kernels::WeightKind k) {
    return k == kernels::WeightKind::F16 ? "fp16" : k == kernels::WeightKind::Int8Row ? "int8" : "int4";
}

} // namespace

TEST_CASE("gemv_tc (tensor cores) equals the CPU reference for fp16, int8 and int4, every output") {
    int dev = 0, major = 0;
    cuda_ok(cudaGetDevice(&dev), "device");
    cuda_ok(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev), "attribute");
    if (major < 8) {
        // No mma.m16n8k16 below sm_80: the kernel must say so rather than run.
        TcCase c(kernels::WeightKind::F16, 16, 64, kernels::GemvOut::StoreF32);
        REQUIRE(!kernels::gemv_tc_fits(c.job()));
        return;
    }
    using kernels::GemvOut;
    using kernels::WeightKind;
    const GemvOut outs[] = {GemvOut::StoreF32, GemvOut::AddF32, GemvOut::StoreF16,
                            GemvOut::Relu2F16};
    int n = 0;
    for (WeightKind kind : {WeightKind::F16, WeightKind::Int8Row, WeightKind::Int4G64}) {
        // One step (fewer than the 8 warps), 7 and 21 steps (uneven slices), the model's widths.
        const int span = kind == WeightKind::F16 ? 32 : kind == WeightKind::Int8Row ? 64 : 128;
        for (auto [rows, cols] : {std::pair{16, span}, std::pair{48, 7 * span},
                                  std::pair{32, 21 * span}, std::pair{256, 4096},
                                  std::pair{64, 16384}, std::pair{16, 20480}}) {
            TcCase c(kind, rows, cols, outs[n++ % 4]);
            REQUIRE(kernels::gemv_tc_fits(c.job()));
            kernels::TcBatch b;
            b.add(c.job());
            cuda_ok(kernels::gemv_tc(b, nullptr), "gemv_tc");
            const double worst = c.check(kind_name(kind));
            std::fprintf(stderr, "  gemv_tc %s %dx%d: worst error / sum|terms| %.2e\n",
                         kind_name(kind), rows, cols, worst);
        }
    }
    // One launch over jobs of all three kinds and different shapes (as a layer's projections).
    TcCase a(WeightKind::Int4G64, 4096, 4096, GemvOut::StoreF32);
    TcCase b2(WeightKind::F16, 96, 4096, GemvOut::StoreF16);
    TcCase c2(WeightKind::Int8Row, 160, 1024, GemvOut::AddF32);
    kernels::TcBatch b;
    b.add(a.job());
    b.add(b2.job());
    b.add(c2.job());
    cuda_ok(kernels::gemv_tc(b, nullptr), "gemv_tc mixed batch");
    a.check("mixed int4");
    b2.check("mixed fp16");
    c2.check("mixed int8");
    // Several waves of blocks over jobs of every kind and two x widths in one launch (the shape of
    // a quantized layer's projections with the fp16 LoRA products beside them).
    TcCase m1(WeightKind::Int4G64, 8192, 4096, GemvOut::Relu2F16);
    TcCase m2(WeightKind::F16, 256, 2048, GemvOut::StoreF32);
    TcCase m3(WeightKind::Int8Row, 2048, 4096, GemvOut::StoreF32);
    TcCase m4(WeightKind::Int4G64, 1024, 16384, GemvOut::AddF32);
    kernels::TcBatch mb;
    for (const TcCase* c : {&m1, &m2, &m3, &m4}) mb.add(c->job());
    cuda_ok(kernels::gemv_tc(mb, nullptr), "gemv_tc many tiles");
    std::fprintf(stderr, "  gemv_tc many tiles: worst error / sum|terms| %.2e %.2e %.2e %.2e\n",
                 m1.check("many tiles int4 8192x4096"), m2.check("many tiles fp16 256x2048"),
                 m3.check("many tiles int8 2048x4096"), m4.check("many tiles int4 1024x16384"));
    // The LoRA up-projections: short rows (a warp per tile), input activations, one launch.
    TcCase up_w(WeightKind::F16, 4096, 96, GemvOut::StoreF32, kernels::GemvIn::Tanh);
    TcCase up_g(WeightKind::F16, 4096, 480, GemvOut::StoreF32, kernels::GemvIn::Sigmoid);
    TcCase up_a(WeightKind::F16, 48, 128, GemvOut::StoreF32); // 3 tiles: a block not filled
    kernels::TcBatch ub;
    ub.add(up_w.job());
    ub.add(up_g.job());
    ub.add(up_a.job());
    cuda_ok(kernels::gemv_tc(ub, nullptr), "gemv_tc LoRA up");
    up_w.check("tanh 4096x96");
    up_g.check("sigmoid 4096x480");
    up_a.check("plain 48x128");
    // An activation on quantized weights is not offered.
    TcCase qa(WeightKind::Int8Row, 16, 64, GemvOut::StoreF32, kernels::GemvIn::Tanh);
    REQUIRE(!kernels::gemv_tc_fits(qa.job()));
    // Shapes it cannot take are refused, not run.
    TcCase odd(WeightKind::Int8Row, 24, 128, GemvOut::StoreF32);
    REQUIRE(!kernels::gemv_tc_fits(odd.job()));
    kernels::TcBatch bad;
    bad.add(odd.job());
    REQUIRE(kernels::gemv_tc(bad, nullptr) == cudaErrorInvalidValue);
}

GANDER_TEST_MAIN
