// The launch trace of a measurement build (trace.h). In the default build only trace_built() and
// the clock's step are of use; the rest says that the kernels record nothing.
#include "kernels/trace.h"

#include <algorithm>
#include <iterator>

#include "kernels/common.cuh"

namespace gander::kernels {
namespace {

std::vector<TraceBind>& binds() {
    static std::vector<TraceBind> v;
    return v;
}

struct Buffer {
    TraceRecord* records = nullptr;
    std::size_t slots = 0;
};
Buffer& buffer() {
    static Buffer b;
    return b;
}

cudaError_t bind_all(const TraceSink& sink) {
    for (TraceBind bind : binds())
        if (const cudaError_t e = bind(sink); e != cudaSuccess) return e;
    return cudaSuccess;
}

void release_buffer() {
    Buffer& b = buffer();
    if (b.records) (void)cudaFree(b.records);
    b = {};
}

// One thread reads the clock in a loop and keeps each change it sees (a step it never saw, after
// 2^24 reads: 0); steps[n]: the SM cycles of one read, over 64 dependent reads.
__global__ void clock_steps_kernel(std::uint64_t* steps, int n) {
    std::uint64_t last = detail::global_ns(), now;
    int i = 0;
    for (int reads = 0; i < n && reads < (1 << 24); ++reads) {
        now = detail::global_ns();
        if (now != last) {
            steps[i++] = now - last;
            last = now;
        }
    }
    for (; i < n; ++i) steps[i] = 0;
    std::uint64_t sum = 0;
    const long long c0 = clock64();
    for (int r = 0; r < 64; ++r) sum += detail::global_ns();
    const long long c1 = clock64();
    steps[n] = std::uint64_t(c1 - c0) / 64 + (sum == 1 ? 1 : 0); // sum: keeps the reads
}

} // namespace

bool trace_register(TraceBind bind) {
    binds().push_back(bind);
    return true;
}

const char* trace_kernel_name(std::uint32_t kernel) {
    static const char* const names[] = {"-",          "gemv",         "gemv_quant", "gemv_tc",
                                        "gemv_bulk",  "sparse_rows",  "sparse_mma", "add_partials",
                                        "layer_norm", "ln_shift_mix", "wkv7_step"};
    static_assert(std::size(names) == std::size_t(TraceKernel::Count), "a name for each kernel");
    return kernel < std::size(names) ? names[kernel] : "?";
}

bool trace_built() {
#ifdef GANDER_TRACE
    return true;
#else
    return false;
#endif
}

cudaError_t trace_begin(std::size_t launches, std::size_t per_launch) {
    if (!trace_built()) return cudaErrorNotSupported;
    if (launches == 0 || (launches & (launches - 1)) != 0 || per_launch == 0 ||
        per_launch > 0xffffffffu)
        return cudaErrorInvalidValue;
    release_buffer();
    Buffer& b = buffer();
    b.slots = launches * per_launch;
    cudaError_t e = cudaMalloc(&b.records, b.slots * sizeof(TraceRecord));
    if (e == cudaSuccess) e = cudaMemset(b.records, 0, b.slots * sizeof(TraceRecord));
    if (e == cudaSuccess) e = bind_all({b.records, launches, std::uint32_t(per_launch)});
    if (e != cudaSuccess && bind_all({}) == cudaSuccess) release_buffer(); // else: no sink left
    return e;                                                              // pointing at it
}

cudaError_t trace_end(std::vector<TraceRecord>& records) {
    records.clear();
    if (!trace_built()) return cudaErrorNotSupported;
    Buffer& b = buffer();
    if (!b.records) return cudaErrorInvalidValue; // no trace_begin
    cudaError_t e = cudaDeviceSynchronize();
    const cudaError_t unbound = bind_all({});
    if (e == cudaSuccess) e = unbound;
    std::vector<TraceRecord> all(b.slots);
    if (e == cudaSuccess)
        e = cudaMemcpy(all.data(), b.records, b.slots * sizeof(TraceRecord),
                       cudaMemcpyDeviceToHost);
    if (unbound == cudaSuccess) release_buffer(); // else kept: a sink may still point at it
    for (const TraceRecord& r : all)
        if (r.blocks != 0) records.push_back(r); // a slot written (every launch has a block)
    return e;
}

cudaError_t trace_clock_step(double& smallest_ns, double& median_ns, double& read_cycles) {
    constexpr int kSteps = 256;
    std::uint64_t* d = nullptr;
    cudaError_t e = cudaMalloc(&d, (kSteps + 1) * sizeof(std::uint64_t));
    if (e != cudaSuccess) return e;
    clock_steps_kernel<<<1, 1>>>(d, kSteps);
    std::vector<std::uint64_t> h(kSteps + 1);
    e = cudaGetLastError();
    if (e == cudaSuccess)
        e = cudaMemcpy(h.data(), d, (kSteps + 1) * sizeof(std::uint64_t), cudaMemcpyDeviceToHost);
    (void)cudaFree(d);
    if (e != cudaSuccess) return e;
    read_cycles = double(h[kSteps]);
    h.pop_back();
    std::sort(h.begin(), h.end());
    smallest_ns = double(h.front());
    median_ns = double(h[kSteps / 2]);
    return cudaSuccess;
}

} // namespace gander::kernels
