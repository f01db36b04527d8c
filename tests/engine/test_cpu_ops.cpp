// The CPU backend's fast paths (AVX2 dot products, register-blocked matmul, thread splits) against
// plain double-precision loops, on fresh random inputs of odd sizes and every weight dtype.
#include <atomic>
#include <cmath>
#include <cstring>
#include <random>

#include "check.h"
#include "cpu/ops.h"
#include "gander/thread_pool.h"
#include "model/half.h"
#include "model/quantize.h"

using namespace gander;

namespace {

std::mt19937 rng{std::random_device{}()};

// A [rows, cols] matrix of the given dtype, with its fp32 values (after storage rounding).
struct Mat {
    std::shared_ptr<const model::Weights> holder;
    model::Tensor t;
    std::vector<float> ref;
};

Mat make(int rows, int cols, io::DType dtype) {
    std::normal_distribution<float> nd(0, 1);
    auto w = std::make_shared<model::Weights>();
    auto& buf = w->owned.emplace_back(std::size_t(rows * cols) * 4);
    std::vector<float> v(std::size_t(rows * cols));
    for (auto& x : v) x = nd(rng);
    std::memcpy(buf.data(), v.data(), buf.size());
    model::Tensor f{io::DType::F32, {rows, cols}, buf.data(), buf.size()};
    Mat m;
    if (dtype == io::DType::F32) {
        m.t = f;
        m.holder = w;
    } else {
        // Through convert_weights' head: int8 for quantized precisions, else the float dtype.
        w->head = f;
        w->emb = f;
        const Precision p = dtype == io::DType::F16 ? Precision::Fp16
                            : dtype == io::DType::BF16 ? Precision::Bf16
                                                       : Precision::Int8;
        m.holder = model::convert_weights(w, p);
        m.t = m.holder->head;
    }
    m.ref.resize(v.size());
    m.t.to_f32(m.ref.data());
    return m;
}

} // namespace

TEST_CASE("matvec and matmul equal plain loops for every dtype, odd sizes, with and without threads") {
    cpu::ThreadPool pool(3);
    std::normal_distribution<float> nd(0, 1);
    for (io::DType dt : {io::DType::F32, io::DType::F16, io::DType::BF16, io::DType::I8}) {
        for (auto [rows, cols, T] : {std::tuple{7, 13, 5}, std::tuple{33, 129, 4}, std::tuple{300, 64, 1},
                                     std::tuple{1029, 200, 7}}) {
            Mat m = make(rows, cols, dt);
            std::vector<float> X(std::size_t(T * cols));
            for (auto& x : X) x = nd(rng);
            std::vector<float> want(std::size_t(T * rows));
            for (int t = 0; t < T; ++t)
                for (int o = 0; o < rows; ++o) {
                    double s = 0;
                    for (int i = 0; i < cols; ++i)
                        s += double(m.ref[std::size_t(o * cols + i)]) * X[std::size_t(t * cols + i)];
                    want[std::size_t(t * rows + o)] = float(s);
                }
            for (cpu::ThreadPool* p : {static_cast<cpu::ThreadPool*>(nullptr), &pool}) {
                std::vector<float> got(want.size(), NAN);
                cpu::matmul(m.t, X.data(), got.data(), T, p);
                std::vector<float> mv(std::size_t(rows), NAN);
                cpu::matvec(m.t, X.data(), mv.data(), p);
                for (std::size_t i = 0; i < want.size(); ++i)
                    CHECK_MSG(std::fabs(got[i] - want[i]) <= 1e-4f * (1 + std::fabs(want[i])) * std::sqrt(float(cols)),
                              "matmul " << io::dtype_name(dt) << " " << rows << "x" << cols << " T" << T
                                        << " at " << i << ": " << got[i] << " vs " << want[i]);
                for (int o = 0; o < rows; ++o)
                    CHECK_MSG(std::fabs(mv[std::size_t(o)] - want[std::size_t(o)]) <=
                                  1e-4f * (1 + std::fabs(want[std::size_t(o)])) * std::sqrt(float(cols)),
                              "matvec " << io::dtype_name(dt) << " row " << o);
            }
        }
    }
}

TEST_CASE("ThreadPool: disjoint ranges covering every index once, over many rounds and sizes") {
    // The server's sampling runs one round a decoding step, with each round's function and
    // counters gone when the next starts.
    for (int threads : {1, 2, 4, 8}) {
        gander::ThreadPool pool(threads);
        CHECK(pool.size() == threads);
        for (int round = 0; round < 2000; ++round) {
            const std::int64_t n = round % 37;
            std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
            std::atomic<std::int64_t> covered{0};
            pool.parallel_for(n, 1, [&](std::int64_t b, std::int64_t e) {
                for (std::int64_t i = b; i < e; ++i) hits[std::size_t(i)].fetch_add(1);
                covered.fetch_add(e - b);
            });
            CHECK(covered.load() == n);
            for (const auto& h : hits) CHECK(h.load() == 1);
        }
    }
}

TEST_CASE("wkv7_step equals the formula in double precision") {
    std::uniform_real_distribution<float> u(-1, 1), pos(0.05f, 0.99f);
    const int H = 3, N = 64;
    std::vector<float> S(std::size_t(H * N * N)), r(H * N), w(H * N), k(H * N), v(H * N), kk(H * N), a(H * N), y(H * N);
    for (auto& x : S) x = u(rng);
    for (int i = 0; i < H * N; ++i) r[i] = u(rng), w[i] = pos(rng), k[i] = u(rng), v[i] = u(rng), a[i] = pos(rng);
    for (int h = 0; h < H; ++h) { // kk is unit length per head
        double n = 0;
        for (int j = 0; j < N; ++j) kk[h * N + j] = u(rng), n += double(kk[h * N + j]) * kk[h * N + j];
        for (int j = 0; j < N; ++j) kk[h * N + j] = float(kk[h * N + j] / std::sqrt(n));
    }
    std::vector<double> S2(S.begin(), S.end()), y2(H * N);
    for (int h = 0; h < H; ++h)
        for (int i = 0; i < N; ++i) {
            double* row = &S2[std::size_t((h * N + i) * N)];
            double sa = 0;
            for (int j = 0; j < N; ++j) sa += row[j] * -kk[h * N + j];
            double yy = 0;
            for (int j = 0; j < N; ++j) {
                row[j] = row[j] * w[h * N + j] + sa * kk[h * N + j] * a[h * N + j] + double(v[h * N + i]) * k[h * N + j];
                yy += row[j] * r[h * N + j];
            }
            y2[std::size_t(h * N + i)] = yy;
        }
    cpu::wkv7_step(S.data(), r.data(), w.data(), k.data(), v.data(), kk.data(), a.data(), y.data(), H, N);
    for (std::size_t i = 0; i < S.size(); ++i) CHECK(std::fabs(S[i] - S2[i]) < 1e-5);
    for (std::size_t i = 0; i < y.size(); ++i) CHECK(std::fabs(y[i] - y2[i]) < 1e-4);
}

GANDER_TEST_MAIN
