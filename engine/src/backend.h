// How load_model() reaches a backend. Each backend turns checked Weights into a Model; the CUDA one
// may refuse (no driver, too little memory) with an Error saying why, and load_model() then falls
// back to the CPU when the caller asked for Auto.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gander/gander.h"
#include "model/weights.h"

namespace gander::detail {

// Fills the backend-independent fields of ModelInfo (shape, path, dtype, fingerprint, n_params).
ModelInfo base_model_info(const model::Weights& weights);

// `note` becomes ModelInfo::backend_note (why the CPU runs this model).
std::unique_ptr<Model> make_cpu_model(std::shared_ptr<const model::Weights> weights,
                                      const LoadOptions& options, std::string note);

#ifdef GANDER_HAVE_CUDA
// "" if a usable NVIDIA card is present, else the reason ("no NVIDIA driver", "no CUDA device").
// On success *device gets the card's name and memory.
std::string cuda_probe(std::string* device);
// Throws Error when the card cannot hold the model ("card has 4.0 GB free, model needs 14.5 GB").
std::unique_ptr<Model> make_cuda_model(std::shared_ptr<const model::Weights> weights,
                                       const LoadOptions& options);
// A random model of `shape` generated on the card with random_init.h (no host copy of the weights).
std::unique_ptr<Model> make_cuda_random_model(const ModelShape& shape, std::uint64_t seed,
                                              const LoadOptions& options);
#endif

} // namespace gander::detail

#ifdef GANDER_HAVE_CUDA
namespace gander::detail {
// Figures gander-bench reports for the card, measured in the same run.
struct CudaDeviceFigures {
    std::string name;
    double copy_bytes_per_s = 0;    // device-to-device copy, bytes read + written per second
    double fp16_flops_per_s = 0;    // dense fp16 matrix product through cuBLAS, large square
    std::size_t total_bytes = 0;    // card memory
};
CudaDeviceFigures cuda_measure_device();
// One decoding matrix-vector kernel timed alone (gander-bench --kernels; cuda/kernel_bench.cpp).
struct KernelFigure {
    std::string name, kind, kernel; // shape, fp16/int8/int4, tensor-core/classic
    double bytes = 0, us = 0, bytes_per_s = 0, fraction_of_copy = 0;
};
// `only`: one section of the table, a name of cuda_kernel_sections() ("one-once" and "wide-once"
// launch those sections' tensor-core cases once, untimed, for a profiler), or all of them when
// empty; "handoff" (what a dependency between two launches costs, kernels/handoff.h) runs only
// when named.
std::vector<KernelFigure> cuda_bench_kernels(double copy_bytes_per_s, const std::string& only = {});
// The names `only` takes.
const std::vector<std::string>& cuda_kernel_sections();
// Over a CUDA model's decoding steps so far: {non-zero FFN activations (relu^2 of the key
// projection), all of them}; {0, 0} for other models.
std::pair<std::uint64_t, std::uint64_t> cuda_ffn_activity(Model& model);
// gander-bench's decode split: a CUDA session's decoding steps timed in parts while `on` (two
// event records a step more). Each call returns the sums since the one before and starts again.
struct StepSplit {
    bool on = false;
    std::int64_t steps = 0;
    double launch_s = 0; // the host's cudaGraphLaunch call (with the two event records)
    double wait_s = 0;   // the host's wait for the graph to finish
    double card_s = 0;   // the graph on the card, the token's copy in and the logits' way out
                         // included (between the events)
};
StepSplit cuda_step_split(Session& session, bool on);
// Whether greedy steps pick on the card (by default; GANDER_CARD_PICK=0 not: cuda_model.h
// card_pick).
bool cuda_card_pick();
// Whether sampled steps (batched: feed_batch_sampled's) draw on the card (cuda_model.h card_draw).
bool cuda_card_draw(bool batched);
// The card's time for a CUDA model's last batched step (ms; 0 for other models or before one).
double cuda_last_batch_ms(Model& model);
// Peak device memory used by this process since the last reset (bytes).
std::size_t cuda_peak_memory();
void cuda_reset_peak_memory();
// cudaProfilerStart / cudaProfilerStop: what a profiler started with --profile-from-start off
// (ncu, nsys) records (gander-bench --profile-step: one decoding step).
void cuda_profile(bool on);
// gander-bench --trace: each launch's blocks, when they reached their wait for the kernels before
// and when it returned (kernels/trace.h; a build with -DGANDER_TRACE in the CUDA flags, else
// cuda_trace_begin throws an Error that says so). cuda_trace_end writes them to `path`, one
// tab-separated line a block, and returns a line for the log.
void cuda_trace_begin();
std::string cuda_trace_end(const std::string& path);
} // namespace gander::detail
#endif
