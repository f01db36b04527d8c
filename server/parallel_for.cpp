#include "parallel_for.h"

namespace gander::server {

ParallelFor::ParallelFor(unsigned workers) {
    m_threads.reserve(workers);
    for (unsigned i = 0; i < workers; ++i) m_threads.emplace_back([this] { work(); });
}

ParallelFor::~ParallelFor() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_start.notify_all();
    for (std::thread& t : m_threads) t.join();
}

void ParallelFor::work() {
    std::uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            m_start.wait(lock, [&] { return m_stop || m_round != seen; });
            if (m_stop) return;
            seen = m_round;
        }
        // m_fn and m_n stay as they are until every worker has reported this round.
        for (std::size_t i; (i = m_next.fetch_add(1, std::memory_order_relaxed)) < m_n;) (*m_fn)(i);
        std::lock_guard lock(m_mutex);
        if (++m_done == m_threads.size()) m_finished.notify_one();
    }
}

void ParallelFor::run(std::size_t n, const std::function<void(std::size_t)>& fn) {
    if (m_threads.empty() || n < 2) {
        for (std::size_t i = 0; i < n; ++i) fn(i);
        return;
    }
    {
        std::lock_guard lock(m_mutex);
        m_fn = &fn;
        m_n = n;
        m_next.store(0, std::memory_order_relaxed);
        m_done = 0;
        ++m_round;
    }
    m_start.notify_all();
    for (std::size_t i; (i = m_next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(i);
    std::unique_lock lock(m_mutex);
    m_finished.wait(lock, [&] { return m_done == m_threads.size(); });
}

} // namespace gander::server
