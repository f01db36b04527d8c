// The scheduler loop: admit, prefill one chunk, one batched decode step, repeat.
#include "scheduler.h"

#include "gander/chat.h"

#include <algorithm>
#include <optional>

namespace gander::server {

namespace {

// Cuts the output at the first of the client's stop strings. Text that could be the beginning of a
// stop string is held back until the next piece shows whether it is one.
class StopMatcher {
public:
    explicit StopMatcher(std::vector<std::string> stops) : m_stops(std::move(stops)) {
        std::erase_if(m_stops, [](const std::string& s) { return s.empty(); });
    }
    std::string push(std::string_view piece) {
        if (m_done) return {};
        m_held += piece;
        std::size_t cut = std::string::npos;
        for (const auto& s : m_stops) cut = std::min(cut, m_held.find(s));
        if (cut != std::string::npos) {
            m_done = true;
            std::string out = m_held.substr(0, cut);
            m_held.clear();
            return out;
        }
        // Keep the longest tail of m_held that is a proper prefix of some stop string.
        std::size_t keep = 0;
        for (const auto& s : m_stops)
            for (std::size_t n = std::min(s.size() - 1, m_held.size()); n > keep; --n)
                if (m_held.compare(m_held.size() - n, n, s, 0, n) == 0) {
                    keep = n;
                    break;
                }
        std::string out = m_held.substr(0, m_held.size() - keep);
        m_held.erase(0, m_held.size() - keep);
        return out;
    }
    std::string flush() {
        std::string out;
        out.swap(m_held);
        return m_done ? std::string() : out;
    }
    bool done() const { return m_done; }

private:
    std::vector<std::string> m_stops;
    std::string m_held;
    bool m_done = false;
};

} // namespace

struct Scheduler::Active {
    std::shared_ptr<Job> job;
    std::unique_ptr<Session> session;
    std::optional<Sampler> sampler;
    std::optional<TokenStream> stream;
    std::optional<StopMatcher> stops;
    ReplyStop reply;
    std::vector<std::int32_t> to_prefill;
    std::size_t prefilled = 0;
    std::string absorbed;                   // text the state holds (prompt, then fed tokens)
    std::string sent;                       // text sent to the client
    std::vector<std::uint8_t> prompt_state; // session jobs: the state right after the prompt
    std::vector<float> biased;              // logits plus the job's logit_bias
    int prompt_tokens = 0, cached_tokens = 0, generated = 0;
    std::int32_t next = -1; // sampled, sent, not yet fed
    bool done = false;
};

Scheduler::Scheduler(Model& model, const Tokenizer& tokenizer, const SchedulerLimits& limits)
    : m_model(model), m_tokenizer(tokenizer), m_limits(limits), m_sampling(sampling_threads()) {
    m_thread = std::thread([this] { run(); });
}

Scheduler::~Scheduler() {
    stop();
}

void Scheduler::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

Scheduler::Submit Scheduler::submit(std::shared_ptr<Job> job) {
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping) return Submit::Stopped;
        if (!job->session.empty() && m_busy_sessions.count(job->session))
            return Submit::SessionBusy;
        if (int(m_queue.size()) >= m_limits.max_queued) return Submit::Full;
        if (!job->session.empty()) m_busy_sessions.insert(job->session);
        m_queue.push_back(std::move(job));
    }
    m_wake.notify_all();
    return Submit::Accepted;
}

SchedulerStats Scheduler::stats() const {
    std::lock_guard lock(m_mutex);
    SchedulerStats s = m_counters;
    s.active = m_active_count;
    s.queued = int(m_queue.size());
    s.sessions = int(m_cache.size());
    s.session_bytes = m_cache_bytes;
    return s;
}

void Scheduler::run() {
    for (;;) {
        std::vector<std::shared_ptr<Job>> admitted;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_stopping || !m_queue.empty() || !m_active.empty(); });
            if (m_stopping) break;
            while (!m_queue.empty() &&
                   int(m_active.size() + admitted.size()) < m_limits.max_active) {
                admitted.push_back(std::move(m_queue.front()));
                m_queue.pop_front();
            }
        }
        for (auto& job : admitted) {
            auto slot = std::make_unique<Active>();
            admit(slot, std::move(job));
            if (!slot->done) m_active.push_back(std::move(slot));
        }
        for (auto& a : m_active)
            if (!a->done && a->job->cancelled.load()) {
                a->done = true;
                release(*a);
            }
        std::erase_if(m_active, [](const auto& a) { return a->done; });
        {
            std::lock_guard lock(m_mutex);
            m_active_count = int(m_active.size());
        }
        if (m_active.empty()) continue;
        prefill_one();
        decode_step();
        std::erase_if(m_active, [](const auto& a) { return a->done; });
        std::lock_guard lock(m_mutex);
        m_active_count = int(m_active.size());
    }
    // Shutting down: whoever still waits hears why.
    std::deque<std::shared_ptr<Job>> queued;
    {
        std::lock_guard lock(m_mutex);
        queued.swap(m_queue);
    }
    JobEvent ev;
    ev.kind = JobEvent::Kind::Failed;
    ev.text = "the server is shutting down";
    for (auto& job : queued)
        if (job->sink) job->sink(ev);
    for (auto& a : m_active)
        if (!a->done && a->job->sink) a->job->sink(ev);
    m_active.clear();
}

void Scheduler::admit(std::unique_ptr<Active>& slot, std::shared_ptr<Job> job) {
    Active& a = *slot;
    a.job = std::move(job);
    try {
        a.session = m_model.new_session();
        a.sampler.emplace(a.job->sampler);
        a.stream.emplace(m_tokenizer);
        a.stops.emplace(a.job->stop);
        std::string_view rest = a.job->prompt;
        if (!a.job->session.empty()) {
            std::lock_guard lock(m_mutex);
            auto it = m_cache.find(a.job->session);
            // A hit needs at least one new token: a restored state has no logits to sample from.
            if (it != m_cache.end() && rest.size() > it->second.first.text.size() &&
                rest.starts_with(it->second.first.text)) {
                a.session->load_state(it->second.first.blob);
                a.absorbed = it->second.first.text;
                a.cached_tokens = it->second.first.tokens;
                rest.remove_prefix(a.absorbed.size());
                m_lru.splice(m_lru.begin(), m_lru, it->second.second);
            }
        }
        a.to_prefill = m_tokenizer.encode(rest);
        a.absorbed += rest;
        a.prompt_tokens = a.cached_tokens + int(a.to_prefill.size());
        if (a.to_prefill.empty()) throw Error("the prompt is empty");
    } catch (const std::exception& e) {
        fail(a, e.what());
    }
}

// First come, first served, except that a prompt that fits in one chunk goes before the rest of a
// long one: a short question is not kept waiting behind a whole document's chunks, and among equals
// the order is fair (shortest-first would starve the slightly longer prompts in a busy moment).
bool Scheduler::prefill_one() {
    const std::size_t chunk = std::size_t(std::max(1, m_limits.prefill_chunk));
    Active* pick = nullptr;
    for (auto& slot : m_active) { // m_active is in arrival order
        Active& a = *slot;
        if (a.done || a.prefilled >= a.to_prefill.size()) continue;
        const bool short_one = a.to_prefill.size() - a.prefilled <= chunk;
        if (!pick) pick = &a;
        if (short_one) {
            if (pick->to_prefill.size() - pick->prefilled > chunk) pick = &a;
            break;
        }
    }
    if (pick) {
        Active& a = *pick;
        const std::size_t n = std::min(chunk, a.to_prefill.size() - a.prefilled);
        try {
            a.session->prefill(std::span(a.to_prefill).subspan(a.prefilled, n));
            a.prefilled += n;
            if (a.prefilled == a.to_prefill.size()) {
                a.to_prefill = {};
                a.prefilled = 0;
                if (!a.job->session.empty()) a.prompt_state = a.session->save_state();
                accept_token(a, sample(a));
            }
        } catch (const std::exception& e) {
            fail(a, e.what());
        }
        return true;
    }
    return false;
}

void Scheduler::decode_step() {
    std::vector<Active*> batch;
    std::vector<Session*> sessions;
    std::vector<std::int32_t> tokens;
    for (auto& a : m_active)
        if (!a->done && a->next >= 0 && a->to_prefill.empty()) {
            batch.push_back(a.get());
            sessions.push_back(a->session.get());
            tokens.push_back(a->next);
        }
    if (batch.empty()) return;
    // Below the tokenizer's vocabulary, as sample() does, the step picks where the logits are made
    // (on the card for the CUDA backend, where they then stay): the argmax when every job is
    // greedy (temperature 0, no penalties, no logit bias), else each job's draw where its sampler
    // allows (Session::feed_batch_sampled; a job with a logit bias, or that the backend leaves,
    // samples its logits here).
    const bool greedy = std::all_of(batch.begin(), batch.end(), [](const Active* a) {
        return a->job->logit_bias.empty() && a->sampler->picks_argmax();
    });
    std::vector<std::int32_t> picked(batch.size(), -1);
    try {
        if (greedy) {
            Session::feed_batch_greedy(sessions, tokens, picked, m_tokenizer.vocab_size());
        } else {
            std::vector<Sampler*> samplers;
            for (Active* a : batch)
                samplers.push_back(a->job->logit_bias.empty() ? &*a->sampler : nullptr);
            Session::feed_batch_sampled(sessions, tokens, samplers, picked,
                                        m_tokenizer.vocab_size());
        }
    } catch (const std::exception& e) {
        for (Active* a : batch) fail(*a, e.what());
        return;
    }
    {
        std::lock_guard lock(m_mutex);
        m_counters.batched_steps += 1;
        m_counters.batched_tokens += std::int64_t(batch.size());
    }
    // Each job the step did not pick for samples its own logits with its own Sampler: the jobs
    // side by side on the pool, then the tokens taken through the streams and stop strings in
    // order, on this thread. A greedy pick of 0 (the end of the document, or every logit -inf or
    // NaN, which the sampler reports) is sampled again from the logits; a drawn 0 is the end of
    // the document (a row with nothing to draw comes back -1).
    std::vector<std::optional<std::string>> errors(batch.size());
    const auto picked_here = [&](std::size_t i) {
        return greedy ? picked[i] != 0 : picked[i] >= 0;
    };
    bool left = false; // any job to sample here (else the pool is not woken)
    for (std::size_t i = 0; i < batch.size(); ++i) left = left || !picked_here(i);
    if (left)
        m_sampling.parallel_for(std::int64_t(batch.size()), 1, [&](std::int64_t b, std::int64_t e) {
            for (auto i = std::size_t(b); i < std::size_t(e); ++i) {
                if (picked_here(i)) continue;
                try {
                    picked[i] = sample(*batch[i]);
                } catch (const std::exception& ex) {
                    errors[i] = ex.what();
                }
            }
        });
    for (std::size_t i = 0; i < batch.size(); ++i) {
        Active* a = batch[i];
        a->absorbed += m_tokenizer.decode(std::span(&a->next, 1));
        a->next = -1;
        if (errors[i]) {
            fail(*a, *errors[i]);
            continue;
        }
        try {
            accept_token(*a, picked[i]);
        } catch (const std::exception& e) {
            fail(*a, e.what());
        }
    }
}

std::int32_t Scheduler::sample(Active& a) {
    const std::span<const float> logits = a.session->logits();
    // Ids the tokenizer cannot decode (a model vocabulary padded past the tokenizer's, e.g. a
    // 512-row model read byte-level) are never sampled, as in the app's EngineWorker: decoding
    // one would end the request with a 500.
    // The sampler sees only the logits before them (the same draw as those ids at -inf).
    const auto kept = logits.first(std::min(std::size_t(m_tokenizer.vocab_size()), logits.size()));
    if (a.job->logit_bias.empty()) return a.sampler->sample(kept);
    a.biased.assign(kept.begin(), kept.end());
    for (const auto& [token, bias] : a.job->logit_bias)
        if (token >= 0 && std::size_t(token) < a.biased.size())
            a.biased[std::size_t(token)] += bias;
    return a.sampler->sample(a.biased);
}

void Scheduler::accept_token(Active& a, std::int32_t token) {
    a.generated += 1;
    a.next = token;
    bool ended = false;
    std::string piece;
    if (token == 0) {
        // End of document: never fed, never shown.
        a.next = -1;
        ended = true;
        piece = a.stream->finish();
    } else {
        piece = a.stream->push(token);
    }
    if (a.job->chat) {
        piece = a.reply.push(piece);
        ended = ended || a.reply.done();
    }
    std::string out = a.stops->push(piece);
    ended = ended || a.stops->done();
    const bool length = !ended && a.generated >= a.job->max_tokens;
    if (length) {
        std::string tail = a.stream->finish();
        if (a.job->chat) tail = a.reply.push(tail);
        out += a.stops->push(tail);
        out += a.stops->flush();
    } else if (ended) {
        out += a.stops->flush();
    }
    if (!out.empty() && a.job->sink) {
        a.sent += out;
        JobEvent ev;
        ev.text = std::move(out);
        a.job->sink(ev);
    }
    if (ended || a.stops->done())
        finish(a, "stop");
    else if (length)
        finish(a, "length");
}

void Scheduler::finish(Active& a, const std::string& reason) {
    if (a.done) return;
    if (!a.job->session.empty() && !a.job->cancelled.load()) {
        try {
            save_session(a);
        } catch (const std::exception&) {
            // The reply is complete; only the cache is lost, and the next request re-prefills.
        }
    }
    JobEvent ev;
    ev.kind = JobEvent::Kind::Done;
    ev.finish_reason = reason;
    ev.prompt_tokens = a.prompt_tokens;
    ev.cached_tokens = a.cached_tokens;
    ev.completion_tokens = a.generated;
    a.done = true;
    release(a);
    if (a.job->sink) a.job->sink(ev);
}

void Scheduler::fail(Active& a, const std::string& why) {
    if (a.done) return;
    a.done = true;
    release(a);
    JobEvent ev;
    ev.kind = JobEvent::Kind::Failed;
    ev.text = why;
    if (a.job->sink) a.job->sink(ev);
}

// Caches the state for the session's next request, which will show this exchange as the client
// saw it: for a chat, the prompt then "Assistant: <clean reply>\n\n"; for a completion, the prompt
// then the text sent. When the state after the reply absorbed exactly that (the usual case), it is
// kept; otherwise (stop string, reply trimmed by the chat cleaning, invalid UTF-8) the state right
// after the prompt is kept, and the next request prefills only this reply again.
void Scheduler::save_session(Active& a) {
    const std::string prompt = a.job->prompt;
    std::string expected =
        a.job->chat ? prompt + " " + clean_chat_text(a.sent) + "\n\n" : prompt + a.sent;
    if (a.next > 0) {
        a.session->feed(a.next);
        a.absorbed += m_tokenizer.decode(std::span(&a.next, 1));
        a.next = -1;
    }
    if (a.job->chat && a.absorbed.starts_with(prompt)) {
        std::string tail = a.absorbed.ends_with("\n\n") ? ""
                           : a.absorbed.ends_with("\n") ? "\n"
                                                        : "\n\n";
        if (!tail.empty() && a.absorbed + tail == expected) {
            a.session->prefill(m_tokenizer.encode(tail));
            a.absorbed += tail;
        }
    }
    if (a.absorbed != expected) {
        if (a.prompt_state.empty()) return;
        a.session->load_state(a.prompt_state);
        a.absorbed = prompt;
    }
    CachedState entry;
    entry.blob = a.session->save_state();
    entry.text = std::move(a.absorbed);
    entry.tokens = int(a.session->tokens_absorbed());
    std::lock_guard lock(m_mutex);
    auto it = m_cache.find(a.job->session);
    if (it != m_cache.end()) {
        m_cache_bytes -= it->second.first.bytes();
        m_lru.erase(it->second.second);
        m_cache.erase(it);
    }
    if (entry.bytes() > m_limits.session_budget) return;
    m_cache_bytes += entry.bytes();
    m_lru.push_front(a.job->session);
    m_cache.emplace(a.job->session, std::make_pair(std::move(entry), m_lru.begin()));
    evict_to_budget();
}

// Caller holds m_mutex. Least recently used first; a session in use keeps its entry.
void Scheduler::evict_to_budget() {
    for (auto it = m_lru.end(); m_cache_bytes > m_limits.session_budget && it != m_lru.begin();) {
        --it;
        if (m_busy_sessions.count(*it)) continue;
        auto entry = m_cache.find(*it);
        m_cache_bytes -= entry->second.first.bytes();
        m_cache.erase(entry);
        it = m_lru.erase(it);
    }
}

void Scheduler::release(Active& a) {
    a.session.reset();
    std::lock_guard lock(m_mutex);
    if (!a.job->session.empty()) m_busy_sessions.erase(a.job->session);
}

} // namespace gander::server
