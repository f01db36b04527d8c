// Where a decoding step's time goes on the card, launch by launch (a measurement; nsys is not on
// the device machines). Built only with -DGANDER_TRACE in the CUDA flags (tests/gpu/run.sh's
// BUILD2_FLAGS): then every kernel that waits for the kernels before it (grid_dep_wait,
// common.cuh) records, in the first thread of each block, when the block reached its wait and
// when the wait returned (the card's nanosecond clock, %globaltimer), with the launch's id. A
// launch's earliest return is when everything before it in the stream had completed, so the
// returns of successive launches split a step into each launch's share of the critical path, and
// the arrivals show how early its blocks became resident. In the default build none of this is
// compiled into the kernels, and the functions below only say so.
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
    std::uint32_t block = 0, blocks = 0, threads = 0, sm = 0, smem = 0, pad = 0; // smem: dynamic
};

// Whether the kernels were built with GANDER_TRACE.
bool trace_built();
// Starts recording up to `capacity` blocks' records (cudaErrorNotSupported in the default build).
cudaError_t trace_begin(std::size_t capacity);
// Stops recording (after synchronising the device) and returns what was recorded, in no order;
// `dropped`: records past the capacity.
cudaError_t trace_end(std::vector<TraceRecord>& records, std::size_t& dropped);
// The clock's step as a kernel sees it: the smallest and the median change of %globaltimer
// between reads in a loop (ns).
cudaError_t trace_clock_step(double& smallest_ns, double& median_ns);

// Each translation unit of the kernels registers the function that points its copy of the
// recording sink at the buffer (common.cuh does it; trace_begin / trace_end call them all).
struct TraceSink {
    TraceRecord* records = nullptr; // null: not recording
    unsigned* count = nullptr;
    unsigned capacity = 0;
};
using TraceBind = cudaError_t (*)(const TraceSink&);
bool trace_register(TraceBind bind);

} // namespace gander::kernels
