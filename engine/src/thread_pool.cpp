// See thread_pool.h.
#include "gander/thread_pool.h"

#include <algorithm>

namespace gander {

ThreadPool::ThreadPool(int threads) {
    if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 1; i < threads; ++i) m_workers.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_start.notify_all();
    for (auto& t : m_workers) t.join();
}

void ThreadPool::run_share(int index) {
    const std::int64_t begin = std::int64_t(index) * m_chunk;
    const std::int64_t end = std::min(m_n, begin + m_chunk);
    if (begin < end) (*m_fn)(begin, end);
}

void ThreadPool::worker_loop(int index) {
    std::uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            m_start.wait(lock, [&] { return m_stop || m_generation != seen; });
            if (m_stop) return;
            seen = m_generation;
        }
        run_share(index);
        {
            std::lock_guard lock(m_mutex);
            if (--m_pending == 0) m_done.notify_one();
        }
    }
}

void ThreadPool::parallel_for(std::int64_t n, std::int64_t grain,
                              const std::function<void(std::int64_t, std::int64_t)>& fn) {
    if (n <= 0) return;
    const int parts = int(std::min<std::int64_t>(size(), std::max<std::int64_t>(1, n / std::max<std::int64_t>(1, grain))));
    if (parts <= 1 || m_workers.empty()) {
        fn(0, n);
        return;
    }
    {
        std::lock_guard lock(m_mutex);
        m_n = n;
        m_chunk = (n + parts - 1) / parts;
        m_fn = &fn;
        m_pending = int(m_workers.size());
        ++m_generation;
    }
    m_start.notify_all();
    run_share(0);
    std::unique_lock lock(m_mutex);
    m_done.wait(lock, [&] { return m_pending == 0; });
    m_fn = nullptr;
}

} // namespace gander
