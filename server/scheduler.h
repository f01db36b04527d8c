// Continuous batching: one thread owns the model and decodes every active request together.
//
// Each request (Job) gets its own Session. Every loop turn the scheduler admits queued jobs into
// free slots, prefills at most one chunk of one job's prompt (so a long prompt never stalls the
// requests that are already decoding), then runs one Session::feed_batch over every decoding job
// and samples each job's next token with its own Sampler (the jobs side by side on a few worker
// threads: ~0.1 ms each over a 65,536-token vocabulary). A cancelled job (its client went away)
// is dropped at the next turn and its slot is free again.
//
// Sessions (the RWKV extension): a job with a session key starts from the state saved when the
// last job of that key finished, if the new prompt text starts with the text that state absorbed;
// only the rest is prefilled. Saved states live in an LRU cache bounded by a byte budget.
//
// Threads: submit(), stats() and stop() may be called from any thread. Sinks are called on the
// scheduler thread.
#pragma once

#include "gander/gander.h"
#include "gander/sampler.h"
#include "gander/thread_pool.h"
#include "gander/tokenizer.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace gander::server {

struct JobEvent {
    enum class Kind { Text, Done, Failed };
    Kind kind = Kind::Text;
    std::string text;          // Text: the next piece of output (valid UTF-8); Failed: why
    std::string finish_reason; // Done: "stop" or "length"
    int prompt_tokens = 0;     // tokens of the prompt text (cached ones included)
    int cached_tokens = 0;     // of those, tokens that came from the session's saved state
    int completion_tokens = 0;
};

struct Job {
    std::string prompt;  // the whole prompt text
    bool chat = false;   // chat replies end at "\n\n" or token 0; completions only at token 0
    std::string session; // empty: no saved state
    SamplerParams sampler;
    int max_tokens = 16;
    std::vector<std::string> stop; // up to 4 stop strings, excluded from the output
    std::vector<std::pair<std::int32_t, float>> logit_bias; // added to the logits before sampling
    // Set from any thread when the client is gone; the scheduler then drops the job silently.
    std::atomic<bool> cancelled{false};
    // Called on the scheduler thread: Text events, then exactly one Done or Failed.
    std::function<void(const JobEvent&)> sink;
};

struct SchedulerLimits {
    int max_active = 16;     // jobs decoded together
    int max_queued = 64;     // waiting for a slot; beyond that submit() says Full
    int prefill_chunk = 256; // prompt tokens prefilled per loop turn
    std::size_t session_budget = std::size_t(256) << 20; // bytes of saved session states
};

struct SchedulerStats {
    int active = 0, queued = 0, sessions = 0;
    std::size_t session_bytes = 0;
    std::int64_t batched_steps = 0, batched_tokens = 0; // mean batch = tokens / steps
};

class Scheduler final {
public:
    // `model` and `tokenizer` must outlive the scheduler.
    Scheduler(Model& model, const Tokenizer& tokenizer, const SchedulerLimits& limits);
    ~Scheduler(); // stops: jobs still running get a Failed event
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    enum class Submit { Accepted, Full, SessionBusy, Stopped };
    Submit submit(std::shared_ptr<Job> job);
    SchedulerStats stats() const;
    void stop();

private:
    struct Active;
    struct CachedState {
        std::vector<std::uint8_t> blob;
        std::string text; // what the state absorbed
        int tokens = 0;
        std::size_t bytes() const { return blob.size() + text.size(); }
    };

    void run();
    void admit(std::unique_ptr<Active>& slot, std::shared_ptr<Job> job);
    bool prefill_one();
    void decode_step();
    // Takes a sampled token through the UTF-8 stream, reply end and stop strings.
    void accept_token(Active& a, std::int32_t token);
    std::int32_t sample(Active& a);
    void finish(Active& a, const std::string& reason);
    void fail(Active& a, const std::string& why);
    void save_session(Active& a);
    void evict_to_budget();
    void release(Active& a);

    Model& m_model;
    const Tokenizer& m_tokenizer;
    const SchedulerLimits m_limits;

    mutable std::mutex m_mutex; // guards everything below up to m_thread
    std::condition_variable m_wake;
    std::deque<std::shared_ptr<Job>> m_queue;
    std::unordered_set<std::string> m_busy_sessions; // queued or active
    std::list<std::string> m_lru;                    // front: most recently used
    std::unordered_map<std::string, std::pair<CachedState, std::list<std::string>::iterator>>
        m_cache;
    std::size_t m_cache_bytes = 0;
    int m_active_count = 0;
    bool m_stopping = false;
    SchedulerStats m_counters;

    std::vector<std::unique_ptr<Active>> m_active; // scheduler thread only
    ThreadPool m_sampling;                         // each decoding job's Sampler, side by side
    std::thread m_thread;
};

} // namespace gander::server
