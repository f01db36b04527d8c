// Where a decoding step's time goes on the card, launch by launch (a measurement; nsys is not on
// the device machines). Built only with -DGANDER_TRACE in the CUDA flags (tests/gpu/run.sh's
// BUILD2_FLAGS): then every kernel that waits for the kernels before it (grid_dep_wait,
// common.cuh) records, in the first thread of each block, when the block reached its wait and
// when the wait returned (the card's nanosecond clock, %globaltimer), with the launch's id. A
// launch's earliest return is when everything before it in the stream had completed, so the
// returns of successive launches split a step into each launch's share of the critical path, and
// the arrivals show how early its blocks became resident. In the default build none of this is
// compiled into the kernels, and the functions below only say so.
// A record is a few stores a block, into a slot of its launch: no atomics. A CUDA graph's
// replays reuse their launches' ids, so a later replay's records take the earlier one's slots.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <cuda_runtime.h>

namespace gander::kernels {

struct TraceRecord {
    std::uint64_t grid = 0;       // %gridid: one value a launch
    std::uint64_t arrive_ns = 0;  // the block's first thread reached its wait
    std::uint64_t release_ns = 0; // its wait returned
    std::uint64_t end_ns = 0;     // it left the kernel (kernels with GANDER_TRACE_BLOCK; else 0)
    std::uint32_t block = 0, blocks = 0, threads = 0, sm = 0, smem = 0; // smem: dynamic
    std::uint32_t kernel = 0; // TraceKernel (with end_ns; 0: not known)
};

// The kernels that record their blocks' ends (GANDER_TRACE_BLOCK(name), common.cuh).
enum class TraceKernel : std::uint32_t {
    Unknown,
    Gemv,
    GemvQuant,
    GemvTc,
    GemvBulk,
    SparseRows,
    SparseMma,
    AddPartials,
    LayerNorm,
    LnShiftMix,
    Wkv7Step,
    Count // not a kernel: how many there are (trace_kernel_name's table checks it)
};
const char* trace_kernel_name(std::uint32_t kernel);

// Whether the kernels were built with GANDER_TRACE.
bool trace_built();
// Starts recording the first `per_launch` blocks of each launch into `launches` launches' slots
// (a power of two; a launch that many after another takes its slots); cudaErrorNotSupported in the
// default build.
cudaError_t trace_begin(std::size_t launches, std::size_t per_launch);
// Stops recording (after synchronising the device) and returns what was recorded, in no order.
cudaError_t trace_end(std::vector<TraceRecord>& records);
// The clock's step as a kernel sees it: the smallest and the median change of %globaltimer
// between reads in a loop (ns), and the SM cycles a read takes in a loop of them (the hook makes
// two; their latency is not measured).
cudaError_t trace_clock_step(double& smallest_ns, double& median_ns, double& read_cycles);

// Each translation unit of the kernels registers the function that points its copy of the
// recording sink at the buffer (common.cuh does it; trace_begin / trace_end call them all).
struct TraceSink {
    TraceRecord* records = nullptr; // launches x per_launch slots; null: not recording
    std::uint64_t launches = 0;     // a power of two; a launch's slots: %gridid mod launches
    std::uint32_t per_launch = 0;
};
using TraceBind = cudaError_t (*)(const TraceSink&);
bool trace_register(TraceBind bind);

} // namespace gander::kernels
