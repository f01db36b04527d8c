// A fixed set of worker threads that run fn(0) .. fn(n - 1) together with the calling thread:
// the scheduler's per-step sampling of every decoding job (each job's Sampler over 65,536 logits,
// ~0.1 ms: at 32 jobs a few ms a step, serial, beside a batched step of ~10 ms on the card).
//
// Threads: run() from one thread at a time (the scheduler's). fn must not throw; calls for
// different i run concurrently and must touch disjoint state.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gander::server {

class ParallelFor final {
public:
    explicit ParallelFor(unsigned workers); // 0: run() calls fn on the caller alone
    ~ParallelFor();
    ParallelFor(const ParallelFor&) = delete;
    ParallelFor& operator=(const ParallelFor&) = delete;

    // Returns when every fn(i) has returned.
    void run(std::size_t n, const std::function<void(std::size_t)>& fn);
    unsigned workers() const { return unsigned(m_threads.size()); }

private:
    void work();

    std::mutex m_mutex;
    std::condition_variable m_start, m_finished;
    // The current round, set under the mutex before it starts: every worker takes part in every
    // round (even one with nothing left for it), so none can still be in a round when the next
    // one resets them.
    const std::function<void(std::size_t)>* m_fn = nullptr;
    std::size_t m_n = 0;
    std::atomic<std::size_t> m_next{0};
    std::uint64_t m_round = 0;
    unsigned m_done = 0; // workers through the current round
    bool m_stop = false;
    std::vector<std::thread> m_threads;
};

} // namespace gander::server
