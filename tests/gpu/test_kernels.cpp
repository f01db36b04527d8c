// Each kernel of kernels/ against the CPU reference (cpu/ops.h, or plain loops where the reference
// has no such op), on fresh random inputs every run, including odd sizes.
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <tuple>

#include "cpu/ops.h"
#include "cuda/gemm.h"
#include "gander/sampler.h"
#include "gpu_test_util.h"
#include "kernels/copy_out.h"
#include "kernels/ffn_sparse.h"
#include "kernels/gemv.h"
#include "kernels/gemv_tc.h"
#include "kernels/handoff.h"
#include "kernels/mix.h"
#include "kernels/norm.h"
#include "kernels/sample.h"
#include "kernels/wkv7.h"
#include "model/weights.h"

using namespace gander;
using namespace gander::gputest;
namespace k = gander::kernels;

namespace {

float sigmoid(float x) {
    return 1.0f / (1.0f + std::exp(-x));
}

// The sparse FFN step's y (y0 + sum over f of h[f] * weight(f, c)) against double-precision sums:
// each column within 1e-5 of the sum of |terms|; returns the worst of those ratios.
template <typename Weight>
double check_sparse_sum(const std::vector<float>& y, const std::vector<float>& y0,
                        const std::vector<__half>& hh, int F, int C, Weight weight,
                        const std::string& what) {
    double worst = 0;
    for (int c = 0; c < C; ++c) {
        double want = y0[std::size_t(c)], mag = std::fabs(want);
        for (int f = 0; f < F; ++f) {
            const double t = double(__half2float(hh[std::size_t(f)])) * weight(f, c);
            want += t;
            mag += std::fabs(t);
        }
        const double e = std::fabs(y[std::size_t(c)] - want) / (mag + 1e-6);
        worst = std::max(worst, e);
        CHECK_MSG(std::isfinite(y[std::size_t(c)]) && e < 1e-5,
                  what << " column " << c << ": " << y[std::size_t(c)] << " vs " << want);
    }
    return worst;
}

model::Tensor f16_tensor(const std::vector<__half>& h, int rows, int cols) {
    model::Tensor t;
    t.dtype = io::DType::F16;
    t.shape = {rows, cols};
    t.data = reinterpret_cast<const std::byte*>(h.data());
    t.nbytes = h.size() * 2;
    return t;
}

// Six token-shift mixes on the card and their fp16 outputs of `rows` rows, as ShiftMix takes them.
struct DevMixes {
    std::vector<std::vector<float>> mix;
    std::vector<std::unique_ptr<Dev<float>>> dmix;
    std::vector<std::unique_ptr<Dev<__half>>> dout;
    k::ShiftMix sm{};
    DevMixes(int C, int rows) {
        sm.n_mix = 6;
        for (int m = 0; m < 6; ++m) {
            mix.push_back(uniform(C, 0, 1));
            dmix.push_back(std::make_unique<Dev<float>>(mix.back()));
            dout.push_back(std::make_unique<Dev<__half>>(std::size_t(rows) * C));
            sm.mix[m] = dmix.back()->p;
            sm.out[m] = dout.back()->p;
        }
    }
    // Every output against cur + (prev - cur) * mix, cur the CPU LayerNorm rows xn and prev(t, c)
    // the shifted-in value of row t.
    template <typename Prev>
    void check(const std::vector<float>& xn, int rows, int C, Prev prev,
               const std::string& what) const {
        for (int m = 0; m < 6; ++m) {
            std::vector<float> ref(std::size_t(rows) * C);
            for (int t = 0; t < rows; ++t)
                for (int c = 0; c < C; ++c) {
                    const float cur = xn[std::size_t(t) * C + c];
                    ref[std::size_t(t) * C + c] =
                        cur + (prev(t, c) - cur) * mix[std::size_t(m)][std::size_t(c)];
                }
            auto got = to_float(dout[std::size_t(m)]->get());
            CHECK_MSG(max_rel(got, ref) < 2e-3, what << " m=" << m);
        }
    }
};

// n relu^2-like activations in [0, 4), each zero with probability `zeros`, as fp32.
std::vector<float> sparse_activations(std::size_t n, double zeros) {
    std::vector<float> hf = uniform(n, 0.0f, 4.0f);
    std::uniform_real_distribution<double> coin(0.0, 1.0);
    for (auto& v : hf)
        if (coin(rng()) < zeros) v = 0.0f;
    return hf;
}

// cpu::layer_norm of each of the T rows of x.
std::vector<float> cpu_layer_norm_rows(const std::vector<float>& x, const std::vector<float>& w,
                                       const std::vector<float>& b, int T, int C) {
    std::vector<float> xn(std::size_t(T) * C);
    for (int t = 0; t < T; ++t)
        cpu::layer_norm(&x[std::size_t(t) * C], w.data(), b.data(), &xn[std::size_t(t) * C], C,
                        1e-5f);
    return xn;
}

} // namespace

TEST_CASE("layer_norm matches cpu::layer_norm (fp32 and gathered fp16 rows)") {
    for (int n : {64, 127, 333, 4096}) {
        for (int T : {1, 3}) { // one row (decoding: split over several blocks) and several
            std::fprintf(stderr, "  n=%d T=%d\n", n, T);
            auto x = uniform(std::size_t(T) * n, -3.0f, 5.0f);
            auto w = uniform(n, 0.5f, 1.5f), b = uniform(n, -0.5f, 0.5f);
            Dev<float> dx(x), dw(w), db(b), dout(std::size_t(T) * n);
            Dev<__half> dh(std::size_t(T) * n);
            REQUIRE(k::layer_norm(dx.p, nullptr, dw.p, db.p, dout.p, dh.p, T, n, 1e-5f, 0) ==
                    cudaSuccess);
            auto out = dout.get();
            auto outh = to_float(dh.get());
            std::vector<float> ref(std::size_t(T) * n);
            for (int t = 0; t < T; ++t)
                cpu::layer_norm(&x[std::size_t(t) * n], w.data(), b.data(),
                                &ref[std::size_t(t) * n], n, 1e-5f);
            CHECK_MSG(max_rel(out, ref) < 1e-5, "n=" << n << " err " << max_rel(out, ref));
            CHECK_MSG(max_rel(outh, ref) < 1e-3, "n=" << n << " fp16 err " << max_rel(outh, ref));

            // Gathered rows of an fp16 table (the embedding).
            const int V = 11;
            auto table = round_half(uniform(std::size_t(V) * n, -1.0f, 1.0f));
            std::vector<std::int32_t> ids = {7, 0, 10};
            ids.resize(std::size_t(T));
            Dev<__half> dtab(to_half(table));
            Dev<std::int32_t> dids(ids);
            REQUIRE(k::layer_norm(dtab.p, dids.p, dw.p, db.p, dout.p, nullptr, T, n, 1e-5f, 0) ==
                    cudaSuccess);
            out = dout.get();
            for (int t = 0; t < T; ++t)
                cpu::layer_norm(&table[std::size_t(ids[t]) * n], w.data(), b.data(),
                                &ref[std::size_t(t) * n], n, 1e-5f);
            CHECK_MSG(max_rel(out, ref) < 1e-5, "gather n=" << n << " err " << max_rel(out, ref));
        }
    }
}

TEST_CASE("group_norm matches cpu::group_norm; bonus and gate match plain loops") {
    for (int H : {1, 3, 8}) {
        for (int N : {64, 37}) {
            const int T = 2, C = H * N;
            auto y = uniform(std::size_t(T) * C, -2.0f, 3.0f);
            auto w = uniform(C, 0.5f, 1.5f), b = uniform(C, -0.3f, 0.3f);
            auto r = uniform(std::size_t(T) * C, -1, 1), kk = uniform(std::size_t(T) * C, -1, 1);
            auto v = uniform(std::size_t(T) * C, -1, 1), g = uniform(std::size_t(T) * C, -2, 2);
            auto rk = uniform(C, -0.5f, 0.5f);
            Dev<float> dy(y), dw(w), db(b), dr(r), dk(kk), dv(v), dg(g), drk(rk);
            Dev<float> dout(std::size_t(T) * C);
            Dev<__half> dh(std::size_t(T) * C);
            REQUIRE(k::group_norm(dy.p, dw.p, db.p, nullptr, nullptr, nullptr, nullptr, nullptr,
                                  dout.p, nullptr, T, H, N, 64e-5f, 0) == cudaSuccess);
            auto out = dout.get();
            std::vector<float> ref(std::size_t(T) * C);
            for (int t = 0; t < T; ++t)
                cpu::group_norm(&y[std::size_t(t) * C], w.data(), b.data(),
                                &ref[std::size_t(t) * C], H, N, 64e-5f);
            CHECK_MSG(max_rel(out, ref) < 1e-5, "H=" << H << " N=" << N);

            REQUIRE(k::group_norm(dy.p, dw.p, db.p, dr.p, dk.p, drk.p, dv.p, dg.p, nullptr, dh.p, T,
                                  H, N, 64e-5f, 0) == cudaSuccess);
            auto outh = to_float(dh.get());
            for (int t = 0; t < T; ++t)
                for (int h = 0; h < H; ++h) {
                    float bonus = 0;
                    const std::size_t base = std::size_t(t) * C + std::size_t(h) * N;
                    for (int j = 0; j < N; ++j) bonus += r[base + j] * kk[base + j] * rk[h * N + j];
                    for (int j = 0; j < N; ++j)
                        ref[base + j] = (ref[base + j] + bonus * v[base + j]) * g[base + j];
                }
            CHECK_MSG(max_rel(outh, ref) < 2e-3,
                      "bonus/gate H=" << H << " N=" << N << " err " << max_rel(outh, ref));
        }
    }
}

TEST_CASE("ln_shift_mix: LayerNorm, token shift and lerps over several rows") {
    for (int C : {64, 200, 4096}) {
        for (int T : {1, 5}) {
            auto x = uniform(std::size_t(T) * C, -2.0f, 2.0f);
            auto w = uniform(C, 0.5f, 1.5f), b = uniform(C, -0.3f, 0.3f);
            auto prev = uniform(C, -1, 1);
            DevMixes mx(C, T);
            Dev<float> dx(x), dw(w), db(b), dprev(prev), dout_prev(C);
            // T == 1 updates the state in place, as decoding does.
            float* pout = T == 1 ? dprev.p : dout_prev.p;
            REQUIRE(k::ln_shift_mix(dx.p, dw.p, db.p, dprev.p, pout, mx.sm, T, C, 1e-5f, 0) ==
                    cudaSuccess);
            const auto xn = cpu_layer_norm_rows(x, w, b, T, C);
            std::ostringstream what;
            what << "C=" << C << " T=" << T;
            mx.check(xn, T, C,
                     [&](int t, int c) {
                         return t == 0 ? prev[std::size_t(c)] : xn[std::size_t(t - 1) * C + c];
                     },
                     what.str());
            std::vector<float> last(xn.end() - C, xn.end());
            auto got_prev = T == 1 ? dprev.get() : dout_prev.get();
            CHECK_MSG(max_rel(got_prev, last) < 1e-5, "prev_out C=" << C << " T=" << T);
        }
    }
}

TEST_CASE("ln_shift_mix_rows: each row its own session's state (batched decoding)") {
    for (int C : {64, 200, 4096}) {
        for (int B : {1, 3, 8}) {
            auto x = uniform(std::size_t(B) * C, -2.0f, 2.0f);
            auto w = uniform(C, 0.5f, 1.5f), b = uniform(C, -0.3f, 0.3f);
            // Each session's state: some padding, then the C floats at `offset`.
            const std::size_t offset = 40;
            std::vector<std::unique_ptr<Dev<float>>> st;
            std::vector<std::vector<float>> prev;
            std::vector<float*> ptrs;
            for (int i = 0; i < B; ++i) {
                prev.push_back(uniform(offset + C, -1, 1));
                st.push_back(std::make_unique<Dev<float>>(prev.back()));
                ptrs.push_back(st.back()->p);
            }
            Dev<float*> dptrs(ptrs);
            DevMixes mx(C, B);
            Dev<float> dx(x), dw(w), db(b);
            REQUIRE(k::ln_shift_mix_rows(dx.p, dw.p, db.p, dptrs.p, offset, mx.sm, B, C, 1e-5f,
                                         0) == cudaSuccess);
            const auto xn = cpu_layer_norm_rows(x, w, b, B, C);
            std::ostringstream what;
            what << "C=" << C << " B=" << B;
            mx.check(xn, B, C,
                     [&](int t, int c) { return prev[std::size_t(t)][offset + std::size_t(c)]; },
                     what.str());
            for (int t = 0; t < B; ++t) { // the state now holds the row's LayerNorm; the rest alone
                const auto got = st[std::size_t(t)]->get();
                const std::vector<float> head(got.begin(), got.begin() + std::ptrdiff_t(offset));
                const std::vector<float> want_head(prev[std::size_t(t)].begin(),
                                                   prev[std::size_t(t)].begin() +
                                                       std::ptrdiff_t(offset));
                CHECK(head == want_head);
                const std::vector<float> tail(got.begin() + std::ptrdiff_t(offset), got.end());
                const std::vector<float> want(xn.begin() + std::ptrdiff_t(t) * C,
                                              xn.begin() + std::ptrdiff_t(t + 1) * C);
                CHECK_MSG(max_rel(tail, want) < 1e-5,
                          "state C=" << C << " B=" << B << " row " << t);
            }
        }
    }
}

TEST_CASE("gemv matches cpu::matvec, every output mode and input activation, odd sizes") {
    struct Size {
        int rows, cols;
    };
    for (Size s : {Size{1, 8}, Size{37, 129}, Size{300, 256}, Size{5, 7}, Size{4099, 1024},
                   Size{64, 4096}}) {
        auto W = round_half(uniform(std::size_t(s.rows) * s.cols, -1, 1));
        auto x = round_half(uniform(std::size_t(s.cols), -2, 2));
        auto Wh = to_half(W);
        Dev<__half> dW(Wh), dx(to_half(x));
        std::vector<float> ref(std::size_t(s.rows));
        model::Tensor t = f16_tensor(Wh, s.rows, s.cols);
        cpu::matvec(t, x.data(), ref.data(), nullptr);

        Dev<float> dy(std::size_t(s.rows));
        k::GemvBatch b;
        b.add({dW.p, dx.p, dy.p, s.rows, s.cols, k::GemvIn::Plain, k::GemvOut::StoreF32});
        REQUIRE(k::gemv(b, 0) == cudaSuccess);
        auto y = dy.get();
        CHECK_MSG(rel_err(y, ref) < 1e-4, s.rows << "x" << s.cols << " err " << rel_err(y, ref));

        // AddF32: y += W x on top of the previous result.
        b.jobs[0].out = k::GemvOut::AddF32;
        REQUIRE(k::gemv(b, 0) == cudaSuccess);
        auto y2 = dy.get();
        std::vector<float> ref2(ref);
        for (auto& v : ref2) v *= 2;
        CHECK_MSG(rel_err(y2, ref2) < 1e-4, "add " << s.rows << "x" << s.cols);

        // fp16 output, ReLU^2, and the activations on the input, against plain loops.
        for (auto in : {k::GemvIn::Tanh, k::GemvIn::Sigmoid}) {
            std::vector<float> xa(x);
            for (auto& v : xa) v = in == k::GemvIn::Tanh ? std::tanh(v) : sigmoid(v);
            std::vector<float> r(std::size_t(s.rows));
            cpu::matvec(t, xa.data(), r.data(), nullptr);
            Dev<__half> dyh(std::size_t(s.rows));
            k::GemvBatch bh;
            bh.add({dW.p, dx.p, dyh.p, s.rows, s.cols, in, k::GemvOut::StoreF16});
            REQUIRE(k::gemv(bh, 0) == cudaSuccess);
            auto yh = to_float(dyh.get());
            CHECK_MSG(rel_err(yh, r) < 2e-3, "act " << int(in) << " " << s.rows << "x" << s.cols
                                                    << " err " << rel_err(yh, r));
        }
        Dev<__half> dyr(std::size_t(s.rows));
        k::GemvBatch br;
        br.add({dW.p, dx.p, dyr.p, s.rows, s.cols, k::GemvIn::Plain, k::GemvOut::Relu2F16});
        REQUIRE(k::gemv(br, 0) == cudaSuccess);
        auto yr = to_float(dyr.get());
        std::vector<float> rr(ref);
        for (auto& v : rr) v = std::max(v, 0.0f) * std::max(v, 0.0f);
        CHECK_MSG(max_rel(yr, rr) < 2e-3, "relu2 " << s.rows << "x" << s.cols);
    }
}

TEST_CASE("prefill matrix products (cuBLAS) match cpu::matmul, odd sizes, every output mode") {
    cublasHandle_t h = nullptr;
    REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
    struct Size {
        int rows, cols, T;
    };
    for (Size s : {Size{37, 129, 2}, Size{300, 256, 7}, Size{1000, 64, 33}, Size{5, 7, 3},
                   Size{512, 1024, 100}}) {
        auto W = round_half(uniform(std::size_t(s.rows) * s.cols, -1, 1));
        auto X = round_half(uniform(std::size_t(s.T) * s.cols, -2, 2));
        auto Wh = to_half(W);
        Dev<__half> dW(Wh), dX(to_half(X));
        std::vector<float> ref(std::size_t(s.T) * s.rows);
        cpu::matmul(f16_tensor(Wh, s.rows, s.cols), X.data(), ref.data(), s.T, nullptr);
        Dev<float> dY(ref.size());
        cuda::gemm_rows(h, dW.p, s.rows, s.cols, dX.p, s.T, dY.p, cuda::GemmOut::StoreF32);
        auto y = dY.get();
        CHECK_MSG(rel_err(y, ref) < 1e-4,
                  s.rows << "x" << s.cols << " T=" << s.T << " err " << rel_err(y, ref));
        cuda::gemm_rows(h, dW.p, s.rows, s.cols, dX.p, s.T, dY.p, cuda::GemmOut::AddF32);
        auto y2 = dY.get();
        std::vector<float> ref2(ref);
        for (auto& v : ref2) v *= 2;
        CHECK_MSG(rel_err(y2, ref2) < 1e-4, "add " << s.rows << "x" << s.cols);
        Dev<__half> dH(ref.size());
        cuda::gemm_rows(h, dW.p, s.rows, s.cols, dX.p, s.T, dH.p, cuda::GemmOut::StoreF16);
        CHECK_MSG(rel_err(to_float(dH.get()), ref) < 2e-3, "fp16 " << s.rows << "x" << s.cols);
    }
    cublasDestroy(h);
}

TEST_CASE("gemv batches several products of different shapes in one launch") {
    const int C = 256, D = 24;
    auto A = round_half(uniform(std::size_t(C) * C, -1, 1));
    auto B = round_half(uniform(std::size_t(D) * C, -1, 1));
    auto x = round_half(uniform(C, -1, 1));
    Dev<__half> dA(to_half(A)), dB(to_half(B)), dx(to_half(x));
    Dev<float> ya(C);
    Dev<__half> yb(D);
    k::GemvBatch b;
    b.add({dA.p, dx.p, ya.p, C, C, k::GemvIn::Plain, k::GemvOut::StoreF32});
    b.add({dB.p, dx.p, yb.p, D, C, k::GemvIn::Plain, k::GemvOut::StoreF16});
    REQUIRE(k::gemv(b, 0) == cudaSuccess);
    std::vector<float> ra(C), rb(D);
    auto Ah = to_half(A), Bh = to_half(B);
    cpu::matvec(f16_tensor(Ah, C, C), x.data(), ra.data(), nullptr);
    cpu::matvec(f16_tensor(Bh, D, C), x.data(), rb.data(), nullptr);
    CHECK(rel_err(ya.get(), ra) < 1e-4);
    CHECK(rel_err(to_float(yb.get()), rb) < 2e-3);
}

TEST_CASE("wkv7_seq over T steps matches cpu::wkv7_step applied T times") {
    for (int variant = 0; variant < k::wkv7_seq_variants(); ++variant)
    for (int H : {1, 3}) {
        for (int T : {1, 2, 17, 40}) {
            const int N = 64, C = H * N;
            auto state = uniform(std::size_t(H) * N * N, -1, 1);
            auto r = uniform(std::size_t(T) * C, -1, 1), k_ = uniform(std::size_t(T) * C, -1, 1);
            auto v = uniform(std::size_t(T) * C, -1, 1), a = uniform(std::size_t(T) * C, 0, 1);
            auto w = uniform(std::size_t(T) * C, -3, 3), kk = uniform(std::size_t(T) * C, -1, 1);
            std::vector<float> decay(w.size()), neg_kk(w.size()), kka(w.size());
            for (int t = 0; t < T; ++t)
                for (int h = 0; h < H; ++h) { // per-head normalised kk, as the model makes it
                    float ss = 0;
                    const std::size_t base = std::size_t(t) * C + std::size_t(h) * N;
                    for (int j = 0; j < N; ++j) ss += kk[base + j] * kk[base + j];
                    for (int j = 0; j < N; ++j) kk[base + j] /= std::sqrt(ss);
                }
            for (std::size_t i = 0; i < w.size(); ++i) {
                decay[i] = std::exp(-0.606531f * sigmoid(w[i]));
                neg_kk[i] = -kk[i];
                kka[i] = kk[i] * a[i];
            }
            Dev<float> ds(state), dr(r), dd(decay), dk(k_), dv(v), dn(neg_kk), dka(kka);
            Dev<float> dy(std::size_t(T) * C);
            REQUIRE(k::wkv7_seq(ds.p, dr.p, dd.p, dk.p, dv.p, dn.p, dka.p, dy.p, T, H, N, 0,
                                variant) == cudaSuccess);
            std::vector<float> ref_s(state), ref_y(std::size_t(T) * C);
            for (int t = 0; t < T; ++t) {
                const std::size_t o = std::size_t(t) * C;
                cpu::wkv7_step(ref_s.data(), &r[o], &decay[o], &k_[o], &v[o], &kk[o], &a[o],
                               &ref_y[o], H, N);
            }
            auto gs = ds.get(), gy = dy.get();
            CHECK_MSG(max_rel(gs, ref_s) < 1e-5,
                      "variant " << variant << " state H=" << H << " T=" << T << " err " << max_rel(gs, ref_s));
            CHECK_MSG(max_rel(gy, ref_y) < 1e-5,
                      "variant " << variant << " y H=" << H << " T=" << T << " err " << max_rel(gy, ref_y));
        }
    }
}

TEST_CASE("wkv_prep: decay, in-context rate, normalised key, value residual") {
    for (bool first : {true, false}) {
        const int H = 3, N = 64, C = H * N, T = 4;
        const std::size_t n = std::size_t(T) * C;
        auto k_ = uniform(n, -2, 2), v = uniform(n, -2, 2), wl = uniform(n, -2, 2),
             al = uniform(n, -2, 2), vl = uniform(n, -2, 2), vf = uniform(n, -2, 2);
        auto w0 = uniform(C, -2, 0), a0 = uniform(C, -1, 1), v0 = uniform(C, -1, 1),
             kkp = uniform(C, 0.7f, 1.0f), ka = uniform(C, 0.9f, 1.1f);
        Dev<float> dk(k_), dv(v), dwl(wl), dal(al), dvl(vl), dvf(vf), dnkk(n);
        Dev<float> dw0(w0), da0(a0), dv0(v0), dkk(kkp), dka(ka);
        k::WkvPrep p{dk.p,  dv.p,  dwl.p, dal.p, dvl.p, dvf.p, dnkk.p,
                     dw0.p, da0.p, dv0.p, dkk.p, dka.p, first};
        REQUIRE(k::wkv_prep(p, T, H, N, 0) == cudaSuccess);
        std::vector<float> rk(n), rv(n), rd(n), rkka(n), rnkk(n), rvf(vf);
        for (int t = 0; t < T; ++t)
            for (int h = 0; h < H; ++h) {
                const std::size_t base = std::size_t(t) * C + std::size_t(h) * N;
                float ss = 0;
                for (int j = 0; j < N; ++j) {
                    const float q = k_[base + j] * kkp[h * N + j];
                    ss += q * q;
                }
                const float norm = std::max(std::sqrt(ss), 1e-12f);
                for (int j = 0; j < N; ++j) {
                    const std::size_t e = base + j;
                    const int c = h * N + j;
                    const float kk = k_[e] * kkp[c] / norm;
                    const float a = sigmoid(a0[c] + al[e]);
                    rnkk[e] = -kk;
                    rkka[e] = kk * a;
                    rk[e] = k_[e] * (1 + (a - 1) * ka[c]);
                    rd[e] = std::exp(-0.606531f * sigmoid(w0[c] + wl[e]));
                    if (first) {
                        rv[e] = v[e];
                        rvf[e] = v[e];
                    } else {
                        rv[e] = v[e] + (vf[e] - v[e]) * sigmoid(v0[c] + vl[e]);
                    }
                }
            }
        CHECK(max_rel(dk.get(), rk) < 1e-5);
        CHECK(max_rel(dv.get(), rv) < 1e-5);
        CHECK(max_rel(dwl.get(), rd) < 1e-5);
        CHECK(max_rel(dal.get(), rkka) < 1e-5);
        CHECK(max_rel(dnkk.get(), rnkk) < 1e-5);
        CHECK(max_rel(dvf.get(), rvf) < 1e-6);
    }
}

TEST_CASE("wkv7_step (fused decoding step) equals wkv_prep + wkv7_seq + group_norm") {
    for (bool first : {true, false}) {
        for (int H : {1, 5}) {
            const int N = 64, C = H * N;
            auto state = uniform(std::size_t(H) * N * N, -1, 1);
            auto r = uniform(C, -1, 1), k_ = uniform(C, -2, 2), v = uniform(C, -2, 2);
            auto wl = uniform(C, -2, 2), al = uniform(C, -2, 2), vl = uniform(C, -2, 2);
            auto g = uniform(C, -2, 2), vf = uniform(C, -2, 2);
            auto w0 = uniform(C, -2, 0), a0 = uniform(C, -1, 1), v0 = uniform(C, -1, 1);
            auto kkp = uniform(C, 0.7f, 1.0f), ka = uniform(C, 0.9f, 1.1f);
            auto rk = uniform(C, -0.5f, 0.5f), lw = uniform(C, 0.5f, 1.5f),
                 lb = uniform(C, -0.3f, 0.3f);
            Dev<float> dr(r), dw0(w0), da0(a0), dv0(v0), dkk(kkp), dka(ka), drk(rk), dlw(lw),
                dlb(lb), dg(g), dvl(vl);
            // Reference: the three prefill kernels, T = 1.
            Dev<float> s1(state), k1(k_), v1(v), wl1(wl), al1(al), vf1(vf), nkk(C), y(C);
            Dev<__half> o1(C);
            k::WkvPrep prep{k1.p,  v1.p,  wl1.p, al1.p, dvl.p, vf1.p, nkk.p,
                            dw0.p, da0.p, dv0.p, dkk.p, dka.p, first};
            REQUIRE(k::wkv_prep(prep, 1, H, N, 0) == cudaSuccess);
            REQUIRE(k::wkv7_seq(s1.p, dr.p, wl1.p, k1.p, v1.p, nkk.p, al1.p, y.p, 1, H, N, 0) ==
                    cudaSuccess);
            REQUIRE(k::group_norm(y.p, dlw.p, dlb.p, dr.p, k1.p, drk.p, v1.p, dg.p, nullptr, o1.p,
                                  1, H, N, 64e-5f, 0) == cudaSuccess);
            // Fused.
            Dev<float> s2(state), k2(k_), v2(v), wl2(wl), al2(al), vf2(vf);
            Dev<__half> o2(C);
            k::Wkv7Step st{s2.p,  dr.p,  k2.p,  v2.p,  wl2.p, al2.p, dvl.p, dg.p, vf2.p, dw0.p,
                           da0.p, dv0.p, dkk.p, dka.p, drk.p, dlw.p, dlb.p, o2.p, first, 64e-5f};
            REQUIRE(k::wkv7_step(st, H, N, 0) == cudaSuccess);
            CHECK_MSG(max_rel(s2.get(), s1.get()) < 1e-5, "state H=" << H << " first=" << first);
            CHECK_MSG(max_rel(to_float(o2.get()), to_float(o1.get())) < 2e-3,
                      "out H=" << H << " first=" << first);
            CHECK(max_rel(vf2.get(), vf1.get()) < 1e-6);
        }
    }
}

TEST_CASE("lora_activation and relu2") {
    const long long n = 1001;
    auto x = round_half(uniform(std::size_t(n), -4, 4));
    for (auto act : {k::Activation::Tanh, k::Activation::Sigmoid}) {
        Dev<__half> d(to_half(x));
        REQUIRE(k::lora_activation(d.p, n, act, 0) == cudaSuccess);
        std::vector<float> ref(x);
        for (auto& v : ref) v = act == k::Activation::Tanh ? std::tanh(v) : sigmoid(v);
        CHECK(max_rel(to_float(d.get()), ref) < 1e-3);
    }
    Dev<float> df(x);
    Dev<__half> dh{std::size_t(n)};
    REQUIRE(k::relu2(df.p, dh.p, n, 0) == cudaSuccess);
    std::vector<float> ref(x);
    for (auto& v : ref) v = std::max(v, 0.0f) * std::max(v, 0.0f);
    CHECK(max_rel(to_float(dh.get()), ref) < 1e-3);
}

TEST_CASE("lora_finish: a batched step's LoRA sums into fp16 hidden rows, four at once") {
    // Lengths of a batch of 32 sessions times the 7.2B shape's ranks, and odd ones.
    const long long n[4] = {32 * 128, 4097, 32 * 480, 7};
    const k::Activation act[4] = {k::Activation::Tanh, k::Activation::None, k::Activation::Sigmoid,
                                  k::Activation::Tanh};
    std::vector<std::vector<float>> x;
    std::deque<Dev<float>> in; // Dev does not move
    std::deque<Dev<__half>> out;
    k::LoraFinish f{};
    for (int j = 0; j < 4; ++j) {
        x.push_back(uniform(std::size_t(n[j]), -6, 6));
        in.emplace_back(x.back());
        out.emplace_back(std::size_t(n[j]));
    }
    for (int jobs : {3, 4}) { // the first layer has no value LoRA: three
        for (int j = 0; j < 4; ++j) {
            REQUIRE(cudaMemset(out[std::size_t(j)].p, 0, std::size_t(n[j]) * 2) == cudaSuccess);
            f.in[j] = in[std::size_t(j)].p;
            f.out[j] = out[std::size_t(j)].p;
            f.n[j] = n[j];
            f.act[j] = act[j];
        }
        f.jobs = jobs;
        REQUIRE(k::lora_finish(f, 0) == cudaSuccess);
        for (int j = 0; j < 4; ++j) {
            std::vector<float> ref(x[std::size_t(j)]);
            for (auto& v : ref)
                v = j >= jobs                          ? 0.0f // not asked for: untouched
                    : act[j] == k::Activation::Tanh    ? std::tanh(v)
                    : act[j] == k::Activation::Sigmoid ? sigmoid(v)
                                                       : v;
            CHECK(max_rel(to_float(out[std::size_t(j)].get()), ref) < 1e-3);
        }
    }
    f.jobs = 5;
    CHECK(k::lora_finish(f, 0) == cudaErrorInvalidValue);
    f.jobs = 2;
    f.in[1] = nullptr;
    CHECK(k::lora_finish(f, 0) == cudaErrorInvalidValue);
}

TEST_CASE("draw_rows: the host Sampler's draws, on fresh random logits") {
    // Each row: a Sampler that plans its draws for the card and one that samples on the host, the
    // same settings and seed, given the same fresh logits a round and the card's picks; after
    // each round both have recorded the same token, so their penalties grow alike. Every draw
    // must be the host's token (sample.h: only sums within rounding of a boundary could differ,
    // ~1e-9 of draws). Logits: trained-like spreads, nearly flat rows (the random model's), many
    // exact ties, NaN / -inf / +inf, a dominant token; all settings of top-p, temperature and the
    // penalties; rows shorter than the pitch; one to 64 rows a launch.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    k::DrawRow* rows_h = nullptr;
    k::DrawPenalty* pen_h = nullptr;
    std::int32_t* out = nullptr;
    constexpr int kRows = 64;
    cuda_ok(cudaMallocHost(&rows_h, kRows * sizeof(k::DrawRow)), "pinned");
    cuda_ok(
        cudaMallocHost(&pen_h, std::size_t(kRows) * k::kDrawMaxPenalties * sizeof(k::DrawPenalty)),
        "pinned");
    cuda_ok(cudaMallocHost(&out, kRows * sizeof(std::int32_t)), "pinned");
    const float top_ps[] = {0.3f, 0.9f, 0.0f, 1.0f, 0.5f, -1.0f, 0.999f};
    const float temps[] = {1.0f, 0.7f, 1.5f, 0.1f, 3.0f, 1.0f};
    const float pens[][2] = {{0.5f, 0.5f}, {0.0f, 0.0f}, {1.5f, 0.2f}, {-0.3f, 0.1f}};
    int draws = 0, mismatches = 0, failed_rows = 0;
    for (auto [n, pitch, rows] : {std::tuple{65536LL, 65536LL, 1},
                                  {65529LL, 65536LL, 32},
                                  {65536LL, 65536LL, 64},
                                  {1000LL, 1001LL, 64},
                                  {131072LL, 131072LL, 4},
                                  {7LL, 7LL, 3},
                                  {1LL, 1LL, 2}}) {
        const std::size_t N = std::size_t(n), P = std::size_t(pitch);
        std::vector<Sampler> card, host;
        for (int r = 0; r < rows; ++r) {
            SamplerParams sp;
            sp.top_p = top_ps[std::size_t(r) % std::size(top_ps)];
            sp.temperature = temps[std::size_t(r / 3) % std::size(temps)];
            sp.presence_penalty = pens[std::size_t(r / 2) % std::size(pens)][0];
            sp.frequency_penalty = pens[std::size_t(r / 2) % std::size(pens)][1];
            sp.penalty_decay = 0.9f;
            sp.seed = rng()();
            card.emplace_back(sp);
            host.emplace_back(sp);
            // Penalties from the start: tokens seen before (some past n: not sent).
            std::uniform_int_distribution<std::int64_t> tok(0, n + 5);
            for (int i = 0; i < 40; ++i) {
                const auto t = std::int32_t(tok(rng()));
                card.back().accept(t);
                host.back().accept(t);
            }
        }
        Dev<float> dx(P * std::size_t(rows)), scratch(2 * P * std::size_t(rows));
        for (int round = 0; round < 6; ++round) {
            std::vector<float> x(P * std::size_t(rows), nan);
            std::normal_distribution<float> normal(0.0f, 1.0f);
            for (int r = 0; r < rows; ++r) {
                float* row = x.data() + std::size_t(r) * P;
                const int kind = (r + round) % 8;
                const float spread = kind == 0   ? 3.0f
                                     : kind == 1 ? 1.0f
                                     : kind == 2 ? 0.01f
                                                 : 1e-4f;
                for (std::size_t i = 0; i < N; ++i) {
                    switch (kind) {
                    case 4:
                        row[i] = float(int(rng()() % 4));
                        break; // many exact ties
                    case 5:
                        row[i] = rng()() % 97 ? 0.5f : 2.0f;
                        break;
                    default:
                        row[i] = spread * normal(rng());
                    }
                }
                if (kind == 6 && N > 8) { // NaN, -inf, and (every other round) +inf
                    for (std::size_t i = 0; i < N; i += 7) row[i] = i % 2 ? nan : -inf;
                    if (round % 2) row[N / 3] = row[N - 1] = inf;
                }
                if (kind == 7) row[rng()() % N] = 1000.0f;                 // one token takes all
                if (round == 5 && r == rows - 1) std::fill_n(row, N, nan); // nothing to draw
            }
            dx.put(x);
            std::vector<bool> planned(static_cast<std::size_t>(rows));
            for (int r = 0; r < rows; ++r) {
                rows_h[r] = k::DrawRow{};
                planned[std::size_t(r)] = card[std::size_t(r)].can_plan(N, k::kDrawMaxPenalties);
                if (!planned[std::size_t(r)]) continue;
                DrawPlan plan;
                card[std::size_t(r)].plan_draw(N, plan);
                rows_h[r] = {plan.u,
                             plan.top_p,
                             plan.inv_temperature,
                             plan.temperature_one ? 1 : 0,
                             int(n),
                             int(plan.penalties.size()),
                             0};
                for (std::size_t j = 0; j < plan.penalties.size(); ++j)
                    pen_h[std::size_t(r) * k::kDrawMaxPenalties + j] = {plan.penalties[j].first,
                                                                        plan.penalties[j].second};
            }
            REQUIRE(k::draw_rows(dx.p, pitch, rows, rows_h, pen_h, scratch.p, out, 0) ==
                    cudaSuccess);
            cuda_ok(cudaDeviceSynchronize(), "draw_rows");
            for (int r = 0; r < rows; ++r) {
                const std::span<const float> row(x.data() + std::size_t(r) * P, N);
                std::int32_t want = -1;
                bool threw = false;
                try {
                    want = host[std::size_t(r)].sample(row);
                } catch (const Error&) {
                    threw = true;
                }
                CHECK_MSG(planned[std::size_t(r)], "n=" << n << " row " << r << " not planned");
                if (!planned[std::size_t(r)]) continue;
                ++draws;
                if (threw) { // every logit NaN or -inf: the card says -1
                    CHECK_MSG(out[r] == -1, "n=" << n << " row " << r << ": " << out[r]);
                    ++failed_rows;
                    continue;
                }
                if (out[r] != want) ++mismatches;
                CHECK_MSG(out[r] == want, "n=" << n << " round " << round << " row " << r
                                               << " (top_p "
                                               << top_ps[std::size_t(r) % std::size(top_ps)]
                                               << "): card " << out[r] << ", host " << want);
                if (out[r] >= 0) card[std::size_t(r)].accept(out[r]);
            }
        }
    }
    std::fprintf(stderr,
                 "draw_rows: %d draws, %d unlike the host's, %d rows with nothing to draw\n", draws,
                 mismatches, failed_rows);
    CHECK(failed_rows > 0);
    // A row with n = 0 draws nothing; bad arguments are refused.
    rows_h[0] = k::DrawRow{};
    Dev<float> one(std::vector<float>{1.0f, 2.0f}), sc(4);
    out[0] = 7;
    REQUIRE(k::draw_rows(one.p, 2, 1, rows_h, pen_h, sc.p, out, 0) == cudaSuccess);
    cuda_ok(cudaDeviceSynchronize(), "draw_rows n = 0");
    CHECK(out[0] == -1);
    CHECK(k::draw_rows(one.p, 0, 1, rows_h, pen_h, sc.p, out, 0) == cudaErrorInvalidValue);
    CHECK(k::draw_rows(nullptr, 2, 1, rows_h, pen_h, sc.p, out, 0) == cudaErrorInvalidValue);
    CHECK(k::draw_rows(one.p, 2, 65536, rows_h, pen_h, sc.p, out, 0) == cudaErrorInvalidValue);
    cudaFreeHost(rows_h);
    cudaFreeHost(pen_h);
    cudaFreeHost(out);
}

TEST_CASE("argmax_rows: each row's first largest value, NaN never, ids into pinned memory") {
    // Against the host's argmax (sampler.h) of each row's first n values: fresh random rows, rows
    // with repeated maxima, NaN and -inf, pitch beyond n, one to 64 rows.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    std::int32_t* out = nullptr;
    cuda_ok(cudaMallocHost(&out, 64 * sizeof(std::int32_t)), "pinned");
    for (auto [n, pitch, rows] : {std::tuple{65536LL, 65536LL, 1},
                                  {65529LL, 65536LL, 32},
                                  {1000LL, 1001LL, 64},
                                  {7LL, 7LL, 3},
                                  {1LL, 1LL, 2}}) {
        auto x = uniform(std::size_t(pitch) * std::size_t(rows), -4, 4);
        for (int r = 0; r < rows; ++r) {
            float* row = x.data() + std::size_t(r) * std::size_t(pitch);
            switch (r % 5) {
            case 1: // the largest value twice (or more), first at a random place
                row[std::size_t(n) / 2] = 9.0f;
                row[std::size_t(n) - 1] = 9.0f;
                row[0] = n > 2 ? row[0] : 9.0f;
                break;
            case 2: // NaN everywhere but one -inf: that one
                for (long long i = 0; i < n; ++i) row[i] = nan;
                row[std::size_t(n) / 3] = -inf;
                break;
            case 3: // NaN only: 0
                for (long long i = 0; i < n; ++i) row[i] = nan;
                break;
            case 4: // a NaN beside a large value
                row[std::size_t(n) / 4] = nan;
                row[std::size_t(n) - 1] = 100.0f;
                break;
            default:
                break;
            }
            if (pitch > n) row[n] = 1e30f; // past the row's n: never picked
        }
        Dev<float> dx(x);
        std::fill(out, out + 64, -1);
        REQUIRE(k::argmax_rows(dx.p, n, pitch, rows, out, 0) == cudaSuccess);
        cuda_ok(cudaDeviceSynchronize(), "argmax_rows");
        for (int r = 0; r < rows; ++r) {
            const std::span<const float> row(x.data() + std::size_t(r) * std::size_t(pitch),
                                             std::size_t(n));
            CHECK_MSG(out[r] == gander::argmax(row),
                      "n=" << n << " row " << r << ": " << out[r] << " vs " << gander::argmax(row));
        }
    }
    Dev<float> one(4);
    CHECK(k::argmax_rows(one.p, 4, 3, 1, out, 0) == cudaErrorInvalidValue); // pitch < n
    CHECK(k::argmax_rows(one.p, 0, 4, 1, out, 0) == cudaErrorInvalidValue);
    cudaFreeHost(out);
}

TEST_CASE("copy_rows_out: rows reach pinned host memory and the card's exactly") {
    // Row lengths with and without 16-byte stores (odd, and a destination one float off), one to
    // 64 rows; every float checked, the pinned destinations poisoned first.
    for (auto [n, rows, offset] : {std::tuple{65536LL, 1, 0},
                                   {65536LL, 64, 0},
                                   {1001LL, 3, 0},
                                   {4096LL, 5, 1},
                                   {4LL, 2, 0}}) {
        const auto src = uniform(std::size_t(n) * std::size_t(rows), -1e3f, 1e3f);
        Dev<float> dsrc(src);
        const std::size_t pitch = std::size_t(n) + 4; // keeps row starts 16-byte aligned
        float* pinned = nullptr;
        cuda_ok(cudaMallocHost(&pinned, pitch * std::size_t(rows) * sizeof(float)), "pinned");
        std::fill(pinned, pinned + pitch * std::size_t(rows), -7.0f);
        Dev<float> ddst(std::size_t(n) * std::size_t(rows));
        k::RowsOut host{}, card{};
        host.rows = card.rows = rows;
        for (int r = 0; r < rows; ++r) {
            // Host rows in reverse order (the table, not the order, decides where a row goes).
            host.dst[r] = pinned + std::size_t(rows - 1 - r) * pitch + offset;
            card.dst[r] = ddst.p + std::size_t(r) * std::size_t(n);
        }
        REQUIRE(k::copy_rows_out(dsrc.p, n, host, 0) == cudaSuccess);
        REQUIRE(k::copy_rows_out(dsrc.p, n, card, 0) == cudaSuccess);
        const auto got = ddst.get(); // synchronises
        std::size_t bad_host = 0, bad_card = 0;
        for (int r = 0; r < rows; ++r)
            for (long long i = 0; i < n; ++i) {
                const float want = src[std::size_t(r) * std::size_t(n) + std::size_t(i)];
                bad_host += host.dst[r][i] != want;
                bad_card += got[std::size_t(r) * std::size_t(n) + std::size_t(i)] != want;
            }
        // The floats around each host row are untouched.
        std::size_t outside = 0;
        for (int r = 0; r < rows; ++r) {
            const float* row = pinned + std::size_t(r) * pitch;
            for (std::size_t i = 0; i < pitch; ++i)
                if (i < std::size_t(offset) || i >= std::size_t(offset + n))
                    outside += row[i] != -7.0f;
        }
        CHECK_MSG(bad_host == 0 && bad_card == 0 && outside == 0,
                  "n=" << n << " rows=" << rows << " offset=" << offset << ": " << bad_host
                       << " host / " << bad_card << " card floats wrong, " << outside
                       << " written outside");
        cudaFreeHost(pinned);
    }
    k::RowsOut none{};
    none.rows = 1;
    Dev<float> one(4);
    CHECK(k::copy_rows_out(one.p, 4, none, 0) == cudaErrorInvalidValue); // no destination
    none.rows = k::kMaxRowsOut + 1;
    CHECK(k::copy_rows_out(one.p, 4, none, 0) == cudaErrorInvalidValue);
}

TEST_CASE("handoff chains carry a value through every launch (stream, PDL, flags)") {
    // Each launch adds one to what the launch before wrote: a launch that read before the one
    // before had written would leave the chain short. The flag chain never waits for completion,
    // only on its flags; more blocks than the card holds at once included.
    const int launches = 48;
    Dev<float> values(launches + 1);
    Dev<unsigned> flags(launches);
    int sms = 0;
    REQUIRE(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0) == cudaSuccess);
    for (const int blocks : {1, 16, 2 * sms, 1024}) {
        for (const auto mode :
             {k::HandoffMode::Stream, k::HandoffMode::Pdl, k::HandoffMode::Flag}) {
            for (int rep = 0; rep < 3; ++rep) {
                REQUIRE(k::handoff_chain(mode, launches, blocks, values.p, flags.p, 0) ==
                        cudaSuccess);
                REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
                const std::vector<float> v = values.get();
                bool chain = true;
                for (int i = 0; i <= launches; ++i) chain = chain && v[std::size_t(i)] == float(i);
                CHECK_MSG(chain, "mode " << int(mode) << ", " << blocks << " blocks: ends at "
                                         << v[std::size_t(launches)]);
                const std::vector<unsigned> f = flags.get();
                if (mode == k::HandoffMode::Flag)
                    for (int i = 0; i < launches; ++i)
                        CHECK_MSG(f[std::size_t(i)] == unsigned(blocks),
                                  "flag " << i << " counts " << f[std::size_t(i)]);
            }
        }
    }
    REQUIRE(k::handoff_chain(k::HandoffMode::Flag, 4, 1025, values.p, flags.p, 0) ==
            cudaErrorInvalidValue);
}

TEST_CASE("ffn_value_sparse: y += h Wt over the non-zero h only, equal to the dense sum") {
    // Zero fractions from none to all; odd sizes (a partial row chunk, a partial column block).
    // 300 x 576: a last row chunk of 44.
    for (auto [F, C] :
         {std::pair{300, 68}, std::pair{16384, 4096}, std::pair{512, 1028}, std::pair{300, 576}}) {
        for (double zeros : {0.0, 0.5, 0.9, 1.0}) {
            const auto hh = to_half(sparse_activations(std::size_t(F), zeros));
            const auto wh = to_half(uniform(std::size_t(F) * C, -0.05f, 0.05f));
            const auto y0 = uniform(std::size_t(C), -1.0f, 1.0f);
            Dev<__half> H(hh), Wt(wh);
            Dev<float> partial{k::ffn_value_sparse_scratch(F, C) / sizeof(float)};
            for (bool dense : {false, true}) {
                Dev<float> Y(y0);
                REQUIRE(k::ffn_value_sparse(H.p, Wt.p, F, C, Y.p, partial.p, dense, 0) ==
                        cudaSuccess);
                std::ostringstream what;
                what << F << "x" << C << " zeros " << zeros << " dense " << dense;
                const double worst = check_sparse_sum(
                    Y.get(), y0, hh, F, C,
                    [&](int f, int c) { return double(__half2float(wh[std::size_t(f) * C + c])); },
                    what.str());
                if (F == 16384)
                    std::fprintf(stderr, "  ffn_value_sparse %dx%d, %.0f%% zeros%s: worst %.2e\n",
                                 F, C, zeros * 100, dense ? " (dense)" : "", worst);
            }
        }
    }
    // Bad arguments are refused, not run.
    Dev<__half> H{static_cast<std::size_t>(8)}, Wt{static_cast<std::size_t>(64)};
    Dev<float> Y{static_cast<std::size_t>(8)}, partial{static_cast<std::size_t>(64)};
    REQUIRE(k::ffn_value_sparse(H.p, Wt.p, 8, 6, Y.p, partial.p, false, 0) == cudaErrorInvalidValue);
    REQUIRE(k::ffn_value_sparse(nullptr, Wt.p, 8, 8, Y.p, partial.p, false, 0) ==
            cudaErrorInvalidValue);
}

TEST_CASE("ffn_value_sparse_i8: transposed int8 rows times h, column scales; transpose; dequantise") {
    // 2,064 columns: a second column block of two threads; 300 rows: a last block of 44. 1,152
    // columns (9 x 128): the tensor-core kernel's second column block of one warp (the shapes
    // whose columns are not whole warps take sparse_rows_kernel, as all do with
    // GANDER_SPARSE_MMA=0).
    for (auto [F, C] : {std::pair{300, 72}, std::pair{16384, 4096}, std::pair{512, 2056},
                        std::pair{300, 2064}, std::pair{300, 1152}}) {
        // The file layout [C, F] with a scale per row c; uploaded and transposed on the card.
        std::vector<std::uint8_t> q(std::size_t(F) * C);
        std::uniform_int_distribution<int> byte(0, 255);
        for (auto& b : q) b = std::uint8_t(byte(rng()));
        const auto scales = to_half(uniform(std::size_t(C), 1e-3f, 2e-2f));
        Dev<std::uint8_t> Q(q), QT{q.size()};
        Dev<__half> S(scales);
        REQUIRE(k::transpose_bytes(Q.p, C, F, QT.p, 0) == cudaSuccess);
        const auto qt = QT.get();
        for (int c = 0; c < C; c += 7)
            for (int f = 0; f < F; f += 5)
                REQUIRE(qt[std::size_t(f) * C + c] == q[std::size_t(c) * F + f]);
        Dev<__half> D{q.size()};
        REQUIRE(k::dequantize_cols_i8(reinterpret_cast<const std::int8_t*>(QT.p), S.p, F, C, D.p,
                                      0) == cudaSuccess);
        const auto d = D.get();
        for (int c = 0; c < C; c += 3)
            for (int f = 0; f < F; f += 11)
                REQUIRE(__half2float(d[std::size_t(f) * C + c]) ==
                        __half2float(__float2half_rn(float(std::int8_t(q[std::size_t(c) * F + f])) *
                                                     __half2float(scales[std::size_t(c)]))));
        for (double zeros : {0.0, 0.5, 0.95}) {
            const auto hh = to_half(sparse_activations(std::size_t(F), zeros));
            const auto y0 = uniform(std::size_t(C), -1.0f, 1.0f);
            Dev<__half> H(hh);
            Dev<float> partial{k::ffn_value_sparse_scratch(F, C) / sizeof(float)};
            for (bool dense : {false, true}) {
                Dev<float> Y(y0);
                REQUIRE(k::ffn_value_sparse_i8(H.p, reinterpret_cast<const std::int8_t*>(QT.p), S.p,
                                               F, C, Y.p, partial.p, dense, 0) == cudaSuccess);
                std::ostringstream what;
                what << F << "x" << C << " zeros " << zeros << " dense " << dense;
                check_sparse_sum(
                    Y.get(), y0, hh, F, C,
                    [&](int f, int c) {
                        return double(std::int8_t(q[std::size_t(c) * F + f])) *
                               __half2float(scales[std::size_t(c)]);
                    },
                    what.str());
            }
        }
    }
}

TEST_CASE("ffn_value_sparse_i4: transposed int4 rows times h, group scales; transposes; dequantise") {
    // 4,160 columns: a third column block of 8 threads; 192 rows: a last block of one scale group.
    // 448 x 1,152: the tensor-core kernel's last block of three scale groups of its four and second
    // column block of one warp.
    for (auto [F, C] : {std::pair{320, 72}, std::pair{16384, 4096}, std::pair{192, 2056},
                        std::pair{192, 4160}, std::pair{448, 1152}}) {
        // The file layout [C, F]: row c holds F / 2 bytes (column 2i in the low nibble of byte i)
        // and F / 64 scales; uploaded and transposed on the card.
        const int G = F / 64;
        std::vector<std::uint8_t> q(std::size_t(C) * F / 2);
        std::uniform_int_distribution<int> byte(0, 255);
        for (auto& b : q) b = std::uint8_t(byte(rng()));
        auto nib = [&](int c, int f) { // the stored value of [c][f], minus 8
            const std::uint8_t b = q[std::size_t(c) * (F / 2) + std::size_t(f / 2)];
            return int(f & 1 ? b >> 4 : b & 15) - 8;
        };
        const auto scales = to_half(uniform(std::size_t(C) * G, 1e-3f, 2e-2f)); // [C, G]
        Dev<std::uint8_t> Q(q), QT{q.size()};
        Dev<__half> S(scales), ST{scales.size()};
        REQUIRE(k::transpose_nibbles(Q.p, C, F, QT.p, 0) == cudaSuccess);
        REQUIRE(k::transpose_u16(reinterpret_cast<const std::uint16_t*>(S.p), C, G,
                                 reinterpret_cast<std::uint16_t*>(ST.p), 0) == cudaSuccess);
        const auto qt = QT.get();
        const auto st = ST.get();
        for (int c = 0; c < C; ++c)
            for (int f = 0; f < F; f += (F > 1000 ? 13 : 1)) {
                const std::uint8_t b = qt[std::size_t(f) * (C / 2) + std::size_t(c / 2)];
                REQUIRE(int(c & 1 ? b >> 4 : b & 15) - 8 == nib(c, f));
            }
        for (int c = 0; c < C; ++c)
            for (int g = 0; g < G; ++g)
                REQUIRE(__half2float(st[std::size_t(g) * C + c]) ==
                        __half2float(scales[std::size_t(c) * G + g]));
        Dev<__half> D{std::size_t(F) * C};
        REQUIRE(k::dequantize_cols_i4(QT.p, ST.p, F, C, D.p, 0) == cudaSuccess);
        const auto d = D.get();
        for (int c = 0; c < C; c += 3)
            for (int f = 0; f < F; f += 11)
                REQUIRE(__half2float(d[std::size_t(f) * C + c]) ==
                        __half2float(__float2half_rn(
                            float(nib(c, f)) * __half2float(scales[std::size_t(c) * G + f / 64]))));
        for (double zeros : {0.0, 0.5, 0.95}) {
            const auto hh = to_half(sparse_activations(std::size_t(F), zeros));
            const auto y0 = uniform(std::size_t(C), -1.0f, 1.0f);
            Dev<__half> H(hh);
            Dev<float> partial{k::ffn_value_sparse_scratch(F, C) / sizeof(float)};
            for (bool dense : {false, true}) {
                Dev<float> Y(y0);
                REQUIRE(k::ffn_value_sparse_i4(H.p, QT.p, ST.p, F, C, Y.p, partial.p, dense, 0) ==
                        cudaSuccess);
                std::ostringstream what;
                what << F << "x" << C << " zeros " << zeros << " dense " << dense;
                const double worst = check_sparse_sum(
                    Y.get(), y0, hh, F, C,
                    [&](int f, int c) {
                        return double(nib(c, f)) *
                               __half2float(scales[std::size_t(c) * G + f / 64]);
                    },
                    what.str());
                if (F == 16384)
                    std::fprintf(stderr, "  ffn_value_sparse_i4 %dx%d, %.0f%% zeros%s: worst %.2e\n",
                                 F, C, zeros * 100, dense ? " (dense)" : "", worst);
            }
        }
    }
    // Shapes it cannot take are refused, not run.
    Dev<__half> H{static_cast<std::size_t>(96)}, S{static_cast<std::size_t>(64)};
    Dev<std::uint8_t> W{static_cast<std::size_t>(96 * 32)};
    Dev<float> Y{static_cast<std::size_t>(64)}, partial{static_cast<std::size_t>(4096)};
    REQUIRE(k::ffn_value_sparse_i4(H.p, W.p, S.p, 96, 64, Y.p, partial.p, false, 0) ==
            cudaErrorInvalidValue); // F not a multiple of 64
    REQUIRE(k::transpose_nibbles(W.p, 3, 64, W.p, 0) == cudaErrorInvalidValue);
}

TEST_CASE("dequantize_cols: int8 and int4 transposed matrices, eight-column and one-value paths") {
    // C = 70 is not a multiple of 8 (the one-value kernel); 72 and 4,096 take eight columns a
    // thread.
    std::uniform_int_distribution<int> byte(0, 255);
    for (int C : {70, 72, 4096}) {
        const int F = C == 4096 ? 192 : 128;
        std::vector<std::uint8_t> q8(std::size_t(F) * C), q4(std::size_t(F) * C / 2);
        for (auto& b : q8) b = std::uint8_t(byte(rng()));
        for (auto& b : q4) b = std::uint8_t(byte(rng()));
        const auto s8 = to_half(uniform(std::size_t(C), 1e-3f, 2e-2f));          // [C]
        const auto s4 = to_half(uniform(std::size_t(F / 64) * C, 1e-3f, 2e-2f)); // [F / 64, C]
        Dev<std::uint8_t> Q8(q8), Q4(q4);
        Dev<__half> S8(s8), S4(s4), D8{q8.size()}, D4{std::size_t(F) * C};
        REQUIRE(k::dequantize_cols_i8(reinterpret_cast<const std::int8_t*>(Q8.p), S8.p, F, C, D8.p,
                                      0) == cudaSuccess);
        REQUIRE(k::dequantize_cols_i4(Q4.p, S4.p, F, C, D4.p, 0) == cudaSuccess);
        const auto d8 = D8.get(), d4 = D4.get();
        for (int f = 0; f < F; ++f)
            for (int c = 0; c < C; ++c) {
                const std::size_t i = std::size_t(f) * C + c;
                const float w8 = float(std::int8_t(q8[i])) * __half2float(s8[std::size_t(c)]);
                const std::uint8_t b = q4[i / 2];
                const float w4 = float(int(c & 1 ? b >> 4 : b & 15) - 8) *
                                 __half2float(s4[std::size_t(f / 64) * C + c]);
                CHECK_MSG(__half2float(d8[i]) == __half2float(__float2half_rn(w8)),
                          "int8 " << F << "x" << C << " at " << f << "," << c);
                CHECK_MSG(__half2float(d4[i]) == __half2float(__float2half_rn(w4)),
                          "int4 " << F << "x" << C << " at " << f << "," << c);
            }
    }
}

namespace {
// Random transposed FFN value weights [F, C] as the card keeps them (int8 bytes with column scales;
// int4 nibbles with scales per 64 rows f and column), on the card, and the value of each (f, c).
struct TransposedWeights {
    int F, C;
    std::vector<std::uint8_t> q8, q4; // [F, C] bytes; [F, C / 2] nibbles, column 2i low in byte i
    std::vector<__half> s8, s4;       // [C]; [F / 64, C]
    Dev<std::uint8_t> Q8, Q4;
    Dev<__half> S8, S4;
    static std::vector<std::uint8_t> random_bytes(std::size_t n) {
        std::uniform_int_distribution<int> byte(0, 255);
        std::vector<std::uint8_t> v(n);
        for (auto& b : v) b = std::uint8_t(byte(rng()));
        return v;
    }
    TransposedWeights(int f, int c)
        : F(f), C(c), q8(random_bytes(std::size_t(f) * c)), q4(random_bytes(std::size_t(f) * c / 2)),
          s8(to_half(uniform(std::size_t(c), 1e-3f, 2e-2f))),
          s4(to_half(uniform(std::size_t(f / 64) * c, 1e-3f, 2e-2f))), Q8(q8), Q4(q4), S8(s8),
          S4(s4) {}
    double w8(int f, int c) const {
        return double(std::int8_t(q8[std::size_t(f) * C + c])) * __half2float(s8[std::size_t(c)]);
    }
    double w4(int f, int c) const {
        const std::uint8_t b = q4[(std::size_t(f) * C + c) / 2];
        return double(int(c & 1 ? b >> 4 : b & 15) - 8) *
               __half2float(s4[std::size_t(f / 64) * C + c]);
    }
};
} // namespace

TEST_CASE(
    "ffn_value_tokens: several tokens' rows of transposed int8 / int4 weights, zeros skipped") {
    // 4,160 columns: a third column block of 8 threads; 192 rows: a last block of one scale group.
    for (auto [F, C] :
         {std::pair{320, 72}, std::pair{16384, 4096}, std::pair{192, 2056}, std::pair{192, 4160}}) {
        const TransposedWeights tw(F, C);
        const auto& [Q8, Q4, S8, S4] = std::tie(tw.Q8, tw.Q4, tw.S8, tw.S4);
        Dev<float> partial{k::ffn_value_tokens_scratch(F, C) / sizeof(float)};
        auto w8 = [&](int f, int c) { return tw.w8(f, c); };
        auto w4 = [&](int f, int c) { return tw.w4(f, c); };
        for (int T : {1, 3, 8}) {
            if (F == 16384 && T == 3) continue; // time: the CPU side
            for (double zeros : {0.0, 0.5, 0.97}) {
                if (F == 16384 && zeros != 0.5) continue;
                // Each token its own zeros, and a run of rows zero for every token (skipped).
                std::vector<float> hf = sparse_activations(std::size_t(T) * F, zeros);
                for (int i = 0; i < T; ++i)
                    for (int f = F / 4; f < F / 4 + 64; ++f) hf[std::size_t(i) * F + f] = 0.0f;
                const auto hh = to_half(hf);
                const auto y0 = uniform(std::size_t(T) * C, -1.0f, 1.0f);
                Dev<__half> H(hh);
                for (bool int4 : {false, true}) {
                    Dev<float> Y(y0);
                    REQUIRE(
                        (int4 ? k::ffn_value_tokens_i4(H.p, T, Q4.p, S4.p, F, C, Y.p, partial.p, 0)
                              : k::ffn_value_tokens_i8(
                                    H.p, T, reinterpret_cast<const std::int8_t*>(Q8.p), S8.p, F, C,
                                    Y.p, partial.p, 0)) == cudaSuccess);
                    const auto y = Y.get();
                    double worst = 0;
                    for (int i = 0; i < T; ++i) {
                        std::ostringstream what;
                        what << (int4 ? "int4 " : "int8 ") << F << "x" << C << " token " << i << "/"
                             << T << " zeros " << zeros;
                        const auto row = [&](const auto& v, int n) {
                            return std::vector<typename std::decay_t<decltype(v)>::value_type>(
                                v.begin() + std::ptrdiff_t(i) * n,
                                v.begin() + std::ptrdiff_t(i + 1) * n);
                        };
                        worst = std::max(worst,
                                         int4 ? check_sparse_sum(row(y, C), row(y0, C), row(hh, F),
                                                                 F, C, w4, what.str())
                                              : check_sparse_sum(row(y, C), row(y0, C), row(hh, F),
                                                                 F, C, w8, what.str()));
                    }
                    if (F == 16384)
                        std::fprintf(
                            stderr,
                            "  ffn_value_tokens %s %dx%d, %d tokens, %.0f%% zeros: worst %.2e\n",
                            int4 ? "int4" : "int8", F, C, T, zeros * 100, worst);
                }
            }
        }
    }
    // Refused: more tokens than a launch takes, none, a width not a multiple of 8.
    Dev<__half> H{static_cast<std::size_t>(9 * 64)}, S{static_cast<std::size_t>(64)};
    Dev<std::uint8_t> W{static_cast<std::size_t>(64 * 64)};
    Dev<float> Y{static_cast<std::size_t>(9 * 64)},
        partial{k::ffn_value_tokens_scratch(64, 64) / 4};
    REQUIRE(k::ffn_value_tokens_i4(H.p, 9, W.p, S.p, 64, 64, Y.p, partial.p, 0) ==
            cudaErrorInvalidValue);
    REQUIRE(k::ffn_value_tokens_i4(H.p, 0, W.p, S.p, 64, 64, Y.p, partial.p, 0) ==
            cudaErrorInvalidValue);
    REQUIRE(k::ffn_value_tokens_i8(H.p, 2, reinterpret_cast<const std::int8_t*>(W.p), S.p, 64, 60,
                                   Y.p, partial.p, 0) == cudaErrorInvalidValue);
}

TEST_CASE("ffn_value_wide: many tokens times every row of transposed int8 / int4 weights") {
    int dev = 0, major = 0;
    REQUIRE(cudaGetDevice(&dev) == cudaSuccess);
    REQUIRE(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) == cudaSuccess);
    // Shapes: one slice of rows f, two slices and a partial block of columns, the model's (16
    // slices of 1,024).
    for (auto [F, C] : {std::pair{320, 96}, std::pair{2048, 416}, std::pair{16384, 4096}}) {
        const TransposedWeights tw(F, C);
        const auto& [Q8, Q4, S8, S4] = std::tie(tw.Q8, tw.Q4, tw.S8, tw.S4);
        auto w8 = [&](int f, int c) { return tw.w8(f, c); };
        auto w4 = [&](int f, int c) { return tw.w4(f, c); };
        // Tokens: part of a group of 8, two groups, a partial block of 32, two blocks, the most.
        for (int T : {5, 16, 17, 40, 64}) {
            if (F == 16384 && T != 17) continue; // time: the CPU side
            const auto hh = to_half(sparse_activations(std::size_t(T) * F, 0.5));
            const auto y0 = uniform(std::size_t(T) * C, -1.0f, 1.0f);
            Dev<__half> H(hh);
            for (bool int4 : {false, true}) {
                const void* W = int4 ? static_cast<const void*>(Q4.p) : Q8.p;
                const __half* S = int4 ? S4.p : S8.p;
                Dev<float> Y(y0);
                if (major < 8) { // no mma: refused
                    REQUIRE(!k::ffn_value_wide_fits(int4, W, S, H.p, T, F, C, Y.p));
                    continue;
                }
                REQUIRE(k::ffn_value_wide_fits(int4, W, S, H.p, T, F, C, Y.p));
                REQUIRE(k::ffn_value_wide(int4, W, S, H.p, T, F, C, Y.p, 0) == cudaSuccess);
                const auto y = Y.get();
                double worst = 0;
                for (int i = 0; i < T; ++i) {
                    std::ostringstream what;
                    what << "wide " << (int4 ? "int4 " : "int8 ") << F << "x" << C << " token " << i
                         << "/" << T;
                    const auto row = [&](const auto& v, int n) {
                        return std::vector<typename std::decay_t<decltype(v)>::value_type>(
                            v.begin() + std::ptrdiff_t(i) * n,
                            v.begin() + std::ptrdiff_t(i + 1) * n);
                    };
                    worst =
                        std::max(worst, int4 ? check_sparse_sum(row(y, C), row(y0, C), row(hh, F),
                                                                F, C, w4, what.str())
                                             : check_sparse_sum(row(y, C), row(y0, C), row(hh, F),
                                                                F, C, w8, what.str()));
                }
                std::fprintf(stderr, "  ffn_value_wide %s %dx%d, %d tokens: worst %.2e\n",
                             int4 ? "int4" : "int8", F, C, T, worst);
            }
        }
    }
    // Refused: too many tokens, none, rows f not in whole scale groups a slice (1,088 = 2 x 544),
    // a width not a multiple of 16 (int8) or 32 (int4: rows copied 16 bytes at a time).
    Dev<__half> H{static_cast<std::size_t>(65 * 1088)}, S{static_cast<std::size_t>(1088)};
    Dev<std::uint8_t> W{static_cast<std::size_t>(1088 * 64)};
    Dev<float> Y{static_cast<std::size_t>(65 * 64)};
    REQUIRE(!k::ffn_value_wide_fits(true, W.p, S.p, H.p, 65, 64, 64, Y.p));
    REQUIRE(!k::ffn_value_wide_fits(true, W.p, S.p, H.p, 0, 64, 64, Y.p));
    REQUIRE(!k::ffn_value_wide_fits(true, W.p, S.p, H.p, 4, 1088, 64, Y.p));
    REQUIRE(!k::ffn_value_wide_fits(false, W.p, S.p, H.p, 4, 64, 40, Y.p));
    REQUIRE(!k::ffn_value_wide_fits(true, W.p, S.p, H.p, 4, 64, 48, Y.p)); // int4 rows: 16 bytes
    REQUIRE(k::ffn_value_wide(true, W.p, S.p, H.p, 65, 64, 64, Y.p, 0) == cudaErrorInvalidValue);
}

GANDER_TEST_MAIN
