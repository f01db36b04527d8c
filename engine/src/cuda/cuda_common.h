// Plumbing shared by the CUDA backend: CUDA/cuBLAS error checks that throw gander::Error naming the
// call and the place, and tracked device allocations (so that gander-bench can report the peak and
// an out-of-memory is an Error that leaves the process usable).
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "gander/gander.h"

namespace gander::cuda {

[[noreturn]] void throw_cuda(cudaError_t err, const char* what, const char* file, int line);
[[noreturn]] void throw_cublas(cublasStatus_t status, const char* what, const char* file, int line);

#define GANDER_CUDA(expr)                                                                          \
    do {                                                                                           \
        const cudaError_t gander_err_ = (expr);                                                    \
        if (gander_err_ != cudaSuccess)                                                            \
            ::gander::cuda::throw_cuda(gander_err_, #expr, __FILE__, __LINE__);                    \
    } while (0)
#define GANDER_CUBLAS(expr)                                                                        \
    do {                                                                                           \
        const cublasStatus_t gander_st_ = (expr);                                                  \
        if (gander_st_ != CUBLAS_STATUS_SUCCESS)                                                   \
            ::gander::cuda::throw_cublas(gander_st_, #expr, __FILE__, __LINE__);                   \
    } while (0)

std::string format_gb(std::size_t bytes); // "14.5 GB"

// Milliseconds of body() between two events on stream s: one run to warm up, then the median of
// `reps` timed runs. body enqueues its work on s (and throws on an error, as GANDER_CUDA does).
template <typename Body>
double median_event_ms(cudaStream_t s, cudaEvent_t e0, cudaEvent_t e1, int reps, Body&& body) {
    body();
    std::vector<float> ms;
    for (int i = 0; i < reps; ++i) {
        GANDER_CUDA(cudaEventRecord(e0, s));
        body();
        GANDER_CUDA(cudaEventRecord(e1, s));
        GANDER_CUDA(cudaEventSynchronize(e1));
        float t = 0;
        GANDER_CUDA(cudaEventElapsedTime(&t, e0, e1));
        ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    return double(ms[ms.size() / 2]);
}

// Records what `record` enqueues on `stream` (thread-local capture) and returns it instantiated.
// If `record` throws or a CUDA call fails, the capture is ended and discarded and the error
// rethrown; the stream is usable afterwards.
cudaGraphExec_t capture_graph(cudaStream_t stream, const std::function<void()>& record);

// Device memory that counts towards the tracked total. Throws Error on failure, naming `what`, the
// size asked for and the memory free on the card; the failure is cleared so that the process stays
// usable.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(std::size_t bytes, const char* what);
    ~DeviceBuffer() { release(); }
    DeviceBuffer(DeviceBuffer&& o) noexcept
        : m_ptr(std::exchange(o.m_ptr, nullptr)), m_bytes(std::exchange(o.m_bytes, 0)) {}
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
        if (this != &o) {
            release();
            m_ptr = std::exchange(o.m_ptr, nullptr);
            m_bytes = std::exchange(o.m_bytes, 0);
        }
        return *this;
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    void* get() const { return m_ptr; }
    template <typename T> T* as() const { return static_cast<T*>(m_ptr); }
    std::size_t bytes() const { return m_bytes; }
    void release();

private:
    void* m_ptr = nullptr;
    std::size_t m_bytes = 0;
};

// Carves aligned pieces out of one allocation (no individual frees).
class Carver {
public:
    explicit Carver(void* base = nullptr) : m_base(static_cast<char*>(base)) {}
    template <typename T> T* take(std::size_t count) {
        m_used = (m_used + 255) & ~std::size_t(255);
        T* p = m_base ? reinterpret_cast<T*>(m_base + m_used) : nullptr;
        m_used += count * sizeof(T);
        return p;
    }
    std::size_t used() const { return (m_used + 255) & ~std::size_t(255); }

private:
    char* m_base;
    std::size_t m_used = 0;
};

std::size_t tracked_bytes();
std::size_t tracked_peak();
void reset_tracked_peak();

// Host memory the card can copy to and from asynchronously (and from inside a CUDA graph).
class PinnedBuffer {
public:
    PinnedBuffer() = default;
    PinnedBuffer(std::size_t bytes, const char* what);
    ~PinnedBuffer();
    PinnedBuffer(PinnedBuffer&& o) noexcept : m_ptr(std::exchange(o.m_ptr, nullptr)) {}
    PinnedBuffer& operator=(PinnedBuffer&& o) noexcept {
        std::swap(m_ptr, o.m_ptr);
        return *this;
    }
    PinnedBuffer(const PinnedBuffer&) = delete;
    PinnedBuffer& operator=(const PinnedBuffer&) = delete;
    template <typename T> T* as() const { return static_cast<T*>(m_ptr); }

private:
    void* m_ptr = nullptr;
};

} // namespace gander::cuda
