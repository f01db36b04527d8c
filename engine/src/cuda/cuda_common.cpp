// CUDA error reporting, tracked allocations, and the device hooks of backend.h (probe, figures for
// gander-bench, peak memory).
#include "cuda/cuda_common.h"

#include <cuda_profiler_api.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <vector>

#include "backend.h"
#include "cuda/convert.h"
#include "kernels/trace.h"

namespace gander::cuda {
namespace {

std::atomic<std::size_t> g_bytes{0};
std::atomic<std::size_t> g_peak{0};

const char* base_name(const char* path) {
    const char* s = path;
    for (const char* p = path; *p; ++p)
        if (*p == '/' || *p == '\\') s = p + 1;
    return s;
}

} // namespace

void throw_cuda(cudaError_t err, const char* what, const char* file, int line) {
    (void)cudaGetLastError(); // clear a non-sticky error so later calls do not report it again
    throw Error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(err) + " (" +
                base_name(file) + ":" + std::to_string(line) + ")");
}

void throw_cublas(cublasStatus_t status, const char* what, const char* file, int line) {
    throw Error(std::string("cuBLAS: ") + what + ": " + cublasGetStatusString(status) + " (" +
                base_name(file) + ":" + std::to_string(line) + ")");
}

std::string format_gb(std::size_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f GB", double(bytes) / 1e9);
    return buf;
}

DeviceBuffer::DeviceBuffer(std::size_t bytes, const char* what) {
    if (bytes == 0) return;
    const cudaError_t err = cudaMalloc(&m_ptr, bytes);
    if (err != cudaSuccess) {
        m_ptr = nullptr;
        (void)cudaGetLastError();
        std::size_t free_b = 0, total_b = 0;
        (void)cudaMemGetInfo(&free_b, &total_b);
        (void)cudaGetLastError();
        if (err == cudaErrorMemoryAllocation)
            throw Error(std::string("CUDA: out of device memory for ") + what + ": needs " +
                        format_gb(bytes) + ", card has " + format_gb(free_b) + " free of " +
                        format_gb(total_b));
        throw Error(std::string("CUDA: cudaMalloc for ") + what + " (" + format_gb(bytes) +
                    "): " + cudaGetErrorString(err));
    }
    m_bytes = bytes;
    const std::size_t now = g_bytes.fetch_add(bytes) + bytes;
    std::size_t peak = g_peak.load();
    while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
    }
}

void DeviceBuffer::release() {
    if (m_ptr) {
        cudaFree(m_ptr);
        g_bytes.fetch_sub(m_bytes);
    }
    m_ptr = nullptr;
    m_bytes = 0;
}

std::size_t tracked_bytes() {
    return g_bytes.load();
}
std::size_t tracked_peak() {
    return g_peak.load();
}
void reset_tracked_peak() {
    g_peak.store(g_bytes.load());
}

PinnedBuffer::PinnedBuffer(std::size_t bytes, const char* what) {
    const cudaError_t err = cudaMallocHost(&m_ptr, bytes);
    if (err != cudaSuccess) {
        m_ptr = nullptr;
        (void)cudaGetLastError();
        throw Error(std::string("CUDA: cudaMallocHost for ") + what + ": " +
                    cudaGetErrorString(err));
    }
}

PinnedBuffer::~PinnedBuffer() {
    if (m_ptr) cudaFreeHost(m_ptr);
}

cudaGraphExec_t capture_graph(cudaStream_t stream, const std::function<void()>& record) {
    GANDER_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    cudaGraph_t graph = nullptr;
    try {
        record();
    } catch (...) {
        cudaStreamEndCapture(stream, &graph);
        if (graph) cudaGraphDestroy(graph);
        (void)cudaGetLastError();
        throw;
    }
    GANDER_CUDA(cudaStreamEndCapture(stream, &graph));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    GANDER_CUDA(err);
    return exec;
}

} // namespace gander::cuda

namespace gander::detail {

std::string cuda_probe(std::string* device) {
    int n = 0;
    const cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        if (err == cudaErrorNoDevice) return "no CUDA device";
        if (err == cudaErrorInsufficientDriver)
            return "no NVIDIA driver (or one too old for CUDA 13)";
        return std::string("CUDA unavailable: ") + cudaGetErrorString(err);
    }
    if (n == 0) return "no CUDA device";
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) {
        (void)cudaGetLastError();
        return "CUDA unavailable: cannot read the properties of device 0";
    }
    if (p.major * 10 + p.minor < 75)
        return std::string(p.name) + " has compute capability " + std::to_string(p.major) + "." +
               std::to_string(p.minor) + "; Gander needs 7.5 (RTX 20 series) or newer";
    if (device) *device = std::string(p.name) + " (" + cuda::format_gb(p.totalGlobalMem) + ")";
    return "";
}

std::size_t cuda_peak_memory() {
    return cuda::tracked_peak();
}
void cuda_reset_peak_memory() {
    cuda::reset_tracked_peak();
}
void cuda_profile(bool on) {
    // Without a profiler attached both are no-ops; an error here is no reason to stop a benchmark.
    if ((on ? cudaProfilerStart() : cudaProfilerStop()) != cudaSuccess) (void)cudaGetLastError();
}

void cuda_trace_begin() {
    if (!kernels::trace_built())
        throw Error("--trace needs the kernels built with -DGANDER_TRACE in CMAKE_CUDA_FLAGS "
                    "(tests/gpu/run.sh: BUILD2_FLAGS=-DGANDER_TRACE)");
    // 2,048 launches (a decoding step of the 7.2B shape has ~290) of up to 1,024 blocks: 96 MB.
    GANDER_CUDA(kernels::trace_begin(2048, 1024));
}

std::string cuda_trace_end(const std::string& path) {
    std::vector<kernels::TraceRecord> recs;
    GANDER_CUDA(kernels::trace_end(recs));
    double smallest = 0, median = 0, read_cycles = 0;
    GANDER_CUDA(kernels::trace_clock_step(smallest, median, read_cycles));
    std::ofstream f(path);
    f << "# grid\tarrive_ns\trelease_ns\tblock\tblocks\tthreads\tsm\tsmem\tend_ns\tkernel\n";
    for (const auto& r : recs)
        f << r.grid << '\t' << r.arrive_ns << '\t' << r.release_ns << '\t' << r.block << '\t'
          << r.blocks << '\t' << r.threads << '\t' << r.sm << '\t' << r.smem << '\t' << r.end_ns
          << '\t' << kernels::trace_kernel_name(r.kernel) << '\n';
    if (!f) throw Error(path + ": cannot write the trace");
    char line[320];
    std::snprintf(line, sizeof line,
                  "trace: %zu blocks recorded to %s; the card's clock steps by %.0f ns "
                  "(median %.0f), a read of it takes %.0f cycles",
                  recs.size(), path.c_str(), smallest, median, read_cycles);
    return line;
}

CudaDeviceFigures cuda_measure_device() {
    using namespace gander::cuda;
    CudaDeviceFigures f;
    cudaDeviceProp p{};
    GANDER_CUDA(cudaGetDeviceProperties(&p, 0));
    f.name = p.name;
    f.total_bytes = p.totalGlobalMem;

    // Untracked scratch: these figures are not the model's memory.
    struct Raw {
        void* p = nullptr;
        ~Raw() {
            if (p) cudaFree(p);
        }
    } a, b, c;
    cudaStream_t s = nullptr;
    cudaEvent_t e0 = nullptr, e1 = nullptr;
    GANDER_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    GANDER_CUDA(cudaEventCreate(&e0));
    GANDER_CUDA(cudaEventCreate(&e1));
    auto median_ms = [&](auto&& body, int reps) { return median_event_ms(s, e0, e1, reps, body); };
    try {
        const std::size_t bytes = std::size_t(1) << 30;
        GANDER_CUDA(cudaMalloc(&a.p, bytes));
        GANDER_CUDA(cudaMalloc(&b.p, bytes));
        GANDER_CUDA(cudaMemsetAsync(a.p, 1, bytes, s));
        const double ms = median_ms(
            [&] { GANDER_CUDA(cudaMemcpyAsync(b.p, a.p, bytes, cudaMemcpyDeviceToDevice, s)); }, 9);
        f.copy_bytes_per_s = 2.0 * double(bytes) / (ms * 1e-3);

        const int n = 8192;
        GANDER_CUDA(cudaMalloc(&c.p, std::size_t(n) * n * 2));
        // Random operands: zeros run faster than real data would.
        GANDER_CUDA(random_tensor(1, 0, 0, 0, static_cast<__half*>(a.p), nullptr, n, n, false, s));
        GANDER_CUDA(random_tensor(2, 0, 0, 0, static_cast<__half*>(b.p), nullptr, n, n, false, s));
        cublasHandle_t h = nullptr;
        GANDER_CUBLAS(cublasCreate(&h));
        struct H {
            cublasHandle_t h;
            ~H() { cublasDestroy(h); }
        } hold{h};
        GANDER_CUBLAS(cublasSetStream(h, s));
        const float one = 1.0f, zero = 0.0f;
        const double gms = median_ms(
            [&] {
                GANDER_CUBLAS(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, a.p,
                                           CUDA_R_16F, n, b.p, CUDA_R_16F, n, &zero, c.p,
                                           CUDA_R_16F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
            },
            5);
        f.fp16_flops_per_s = 2.0 * double(n) * n * n / (gms * 1e-3);
    } catch (...) {
        cudaEventDestroy(e0);
        cudaEventDestroy(e1);
        cudaStreamDestroy(s);
        throw;
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cudaStreamDestroy(s);
    return f;
}

} // namespace gander::detail
