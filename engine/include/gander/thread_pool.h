// A fixed pool of worker threads for data-parallel loops: the CPU backend's matrix products, the
// server's per-job sampling. The calling thread takes part, so a pool of n threads starts n - 1
// workers. One parallel_for at a time per pool.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gander {

class ThreadPool {
public:
    explicit ThreadPool(int threads); // 0: one per hardware thread
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return int(m_workers.size()) + 1; }
    // Calls fn(begin, end) on disjoint ranges covering [0, n), split into about size() pieces of
    // at least `grain` items. Returns when all are done.
    void parallel_for(std::int64_t n, std::int64_t grain,
                      const std::function<void(std::int64_t, std::int64_t)>& fn);

private:
    void worker_loop(int index);
    void run_share(int index);

    std::vector<std::thread> m_workers;
    std::mutex m_mutex;
    std::condition_variable m_start, m_done;
    std::uint64_t m_generation = 0;
    int m_pending = 0;
    bool m_stop = false;
    std::int64_t m_n = 0, m_chunk = 0;
    const std::function<void(std::int64_t, std::int64_t)>* m_fn = nullptr;
};

} // namespace gander
