// Gander engine: the public API.
//
// An RWKV-7 language model (Model) loaded once, and any number of Sessions on it, each owning one
// recurrent state. A Session absorbs tokens one at a time (feed) or as a sequence (prefill), exposes
// the logits of the last token, and saves/restores its state as a self-describing blob that loads
// in any backend.
//
// Errors: every call that can fail throws gander::Error whose message names what failed and where
// ("rand-a.pth: tensor blocks.2.att.key.weight: expected [128,128] got [128,64]"). A progress
// callback that returns false makes the call throw gander::Cancelled. A call that throws leaves the
// object as it was before the call. Nothing here aborts the process on bad input.
//
// Threads: a loaded Model is immutable; Model::info() and Model::new_session() may be called from
// any thread. One Session must be used by one thread at a time; different Sessions may be used from
// different threads (the CUDA backend serialises their work on its stream). A Session must not
// outlive the Model it came from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace gander {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Cancelled final : public Error {
public:
    Cancelled() : Error("cancelled") {}
};

// Progress of a long call, `done` in [0, 1]. Return false to cancel.
using Progress = std::function<bool(double done)>;

enum class BackendKind { Auto, Cpu, Cuda };
// Storage precision of the weights on the backend; arithmetic is fp32 on the CPU and fp32
// accumulation on the GPU.
enum class Precision { Fp32, Fp16, Bf16, Int8, Int4 };

std::string_view to_string(BackendKind kind);
std::string_view to_string(Precision precision);
std::optional<BackendKind> parse_backend(std::string_view text);
std::optional<Precision> parse_precision(std::string_view text);

struct LoraRanks {
    int w = 0, a = 0, v = 0, g = 0;
    bool operator==(const LoraRanks&) const = default;
};

// The hyperparameters of an RWKV-7 model, all read from tensor shapes.
struct ModelShape {
    int n_layer = 0;
    int n_embd = 0;     // C
    int head_size = 64; // N
    int vocab = 0;      // V
    int ffn_dim = 0;    // usually 4C
    std::vector<LoraRanks> ranks; // one per layer
    int n_head() const { return head_size ? n_embd / head_size : 0; }
    bool operator==(const ModelShape&) const = default;
};

// A real RWKV-7 shape by name: "0.1b", "0.4b", "1.5b", "2.9b", "7.2b". Throws Error if unknown.
ModelShape model_shape_named(std::string_view name);
// Number of parameters of a shape (what `gander-cli info` prints).
std::int64_t parameter_count(const ModelShape& shape);
// Bytes of one session's state in fp32: per layer two C vectors and H x N x N WKV values.
std::size_t state_size_f32(const ModelShape& shape);

struct ModelInfo {
    ModelShape shape;
    std::string path;        // file it came from ("" for a random model)
    std::string file_dtype;  // "bf16", "fp16", "fp32", "mixed"
    std::string fingerprint; // 16 hex digits; identifies the weights (not the precision)
    std::int64_t n_params = 0;
    BackendKind backend = BackendKind::Cpu;
    Precision precision = Precision::Fp32;
    std::string device;       // "CPU, 8 threads" / "NVIDIA GeForce RTX 4090 (24 GB)"
    std::string backend_note; // why Auto chose what it chose, e.g. "CPU: no NVIDIA driver"
    std::size_t weight_bytes = 0; // bytes of weights held by the backend
    std::size_t decode_bytes_per_token = 0; // weight bytes one decoded token reads (roofline)
    // Of those, the bytes a decoding step reads only for non-zero FFN activations (the FFN value
    // matrices when the sparse step skips zero rows; 0 when every row is read).
    std::size_t sparse_bytes_per_token = 0;
};

struct LoadOptions {
    BackendKind backend = BackendKind::Auto;
    // Weight precision on the backend. nullopt: the backend's natural choice (CPU: as stored in
    // the file; CUDA: fp16).
    std::optional<Precision> precision;
    int threads = 0; // CPU worker threads; 0 = one per core
    // Where int8/int4 conversions of a model are cached (made on first load, with progress, then
    // reused; a stale or foreign cache is rebuilt). Empty: convert in memory on every load.
    std::string cache_dir;
    Progress progress;
};

// How a saved state stores its numbers. F16 halves the blob; docs/state.md gives its error.
enum class StateDtype : std::uint8_t { F32 = 0, F16 = 1 };

class Session;
class Sampler;

class Model {
public:
    virtual ~Model() = default;
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;

    virtual const ModelInfo& info() const = 0;
    virtual std::unique_ptr<Session> new_session() = 0;

protected:
    Model() = default;
};

// Loads an official RWKV-7 .pth, a .safetensors (official or fla-hub names) or a Gander cache file.
std::unique_ptr<Model> load_model(const std::string& path, const LoadOptions& options = {});
// A model of the given shape with random weights, made in memory (benchmarks; no file needed).
std::unique_ptr<Model> make_random_model(const ModelShape& shape, std::uint64_t seed,
                                         const LoadOptions& options = {});

class Session {
public:
    virtual ~Session() = default;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    const ModelInfo& model_info() const { return m_info; }

    // Absorbs one token; logits() then holds the output for it. Throws on an id out of range.
    void feed(std::int32_t token);
    // Absorbs one token in each of several sessions of one model in a single batched step (the
    // weights are read once for all of them); afterwards each session's logits() holds its output.
    // The sessions must be distinct and come from the same Model. Equivalent to feed() on each.
    static void feed_batch(std::span<Session* const> sessions, std::span<const std::int32_t> tokens);
    // feed(token), returning the greedy pick of the output: the largest of logits()[0, below) (all
    // of them when below <= 0 or past the vocabulary), the lowest id on a tie, NaN never, as
    // gander::argmax. logits() holds the same output as after feed(). A backend may pick where
    // the output is made and bring the logits over only when logits() is asked for (the CUDA
    // backend does).
    std::int32_t feed_greedy(std::int32_t token, std::int32_t below = 0);
    // feed_batch, and picks[i] = session i's greedy pick (as feed_greedy).
    static void feed_batch_greedy(std::span<Session* const> sessions,
                                  std::span<const std::int32_t> tokens,
                                  std::span<std::int32_t> picks, std::int32_t below = 0);
    // feed(token), returning the next token drawn from logits()[0, below) by `sampler` (below as
    // in feed_greedy): the token sampler.sample(logits().first(below)) gives, which it records. A
    // backend may draw where the output is made and bring the logits over only when logits() is
    // asked for (the CUDA backend does where Sampler::can_plan allows). Throws what sample()
    // throws.
    std::int32_t feed_sampled(std::int32_t token, Sampler& sampler, std::int32_t below = 0);
    // feed_batch, and picks[i] = session i's next token drawn by samplers[i] as feed_sampled does,
    // or -1 where the backend left that draw to the caller (samplers[i] null, or a backend that
    // draws on the host: logits() then holds the output, to sample as after feed_batch).
    static void feed_batch_sampled(std::span<Session* const> sessions,
                                   std::span<const std::int32_t> tokens,
                                   std::span<Sampler* const> samplers,
                                   std::span<std::int32_t> picks, std::int32_t below = 0);
    // Absorbs a sequence in chunks with a fixed workspace; logits() then holds the output after the
    // last token. On cancel or error the state is as before the call.
    void prefill(std::span<const std::int32_t> tokens, const Progress& progress = {});
    // V floats: the output after the last token absorbed; empty when no token has been absorbed
    // since the session was made, reset or restored.
    std::span<const float> logits() const;
    std::int64_t tokens_absorbed() const { return m_tokens; }
    // Back to the zero state.
    void reset();

    // The state as a self-describing blob (magic, version, fingerprint, shape, dtype, tokens
    // absorbed, checksum). state_blob_size(d) == save_state(d).size().
    std::size_t state_blob_size(StateDtype dtype = StateDtype::F32) const;
    std::vector<std::uint8_t> save_state(StateDtype dtype = StateDtype::F32) const;
    // Restores a blob from save_state of any backend of the same model. A blob of another model,
    // truncated or corrupt, throws Error and leaves the session untouched.
    void load_state(std::span<const std::uint8_t> blob);

    // The state in the reference fp32 layout: per layer [att_x_prev C][att_kv H*N*N, row i = value,
    // col j = key][ffn_x_prev C]; state_size_f32(shape) / 4 floats.
    std::vector<float> state_f32() const;
    void set_state_f32(std::span<const float> state, std::int64_t tokens_absorbed);

protected:
    explicit Session(const ModelInfo& info) : m_info(info) {}

    // Backend hooks. do_feed/do_prefill write the last logits into `logits` (V floats).
    virtual void do_feed(std::int32_t token, std::span<float> logits) = 0;
    virtual void do_prefill(std::span<const std::int32_t> tokens, std::span<float> logits,
                            const Progress& progress) = 0;
    // Batched step for `sessions` (this one among them); logits[b] (V floats) receives session
    // b's output, written only once its step has succeeded. The default feeds them one by one.
    virtual void do_feed_batch(std::span<Session* const> sessions,
                               std::span<const std::int32_t> tokens,
                               std::span<const std::span<float>> logits);
    // Greedy steps (feed_greedy, feed_batch_greedy; below in [1, V]): return true when the logits
    // were left with the backend instead of written into `logits`, which do_fetch_logits then
    // does when logits() is asked for. The defaults step as do_feed / do_feed_batch and pick on
    // the host.
    virtual bool do_feed_greedy(std::int32_t token, std::int32_t below, std::span<float> logits,
                                std::int32_t& pick);
    virtual bool do_feed_batch_greedy(std::span<Session* const> sessions,
                                      std::span<const std::int32_t> tokens,
                                      std::span<const std::span<float>> logits,
                                      std::span<std::int32_t> picks, std::int32_t below);
    // Sampled steps (feed_sampled, feed_batch_sampled; below in [1, V]): a backend may draw
    // session i's next token where its output is made, with samplers[i] (null: not this one),
    // into picks[i] and keep those logits until do_fetch_logits; picks[i] = -1: its logits were
    // written into logits[i] (Session draws for feed_sampled; feed_batch_sampled's caller does).
    // The defaults step as do_feed / do_feed_batch and draw nothing.
    virtual void do_feed_sampled(std::int32_t token, std::int32_t below, Sampler& sampler,
                                 std::span<float> logits, std::int32_t& pick);
    virtual void do_feed_batch_sampled(std::span<Session* const> sessions,
                                       std::span<const std::int32_t> tokens,
                                       std::span<const std::span<float>> logits,
                                       std::span<Sampler* const> samplers,
                                       std::span<std::int32_t> picks, std::int32_t below);
    virtual void do_fetch_logits(std::span<float> logits) const;
    virtual void do_reset() = 0;
    virtual void do_read_state(std::span<float> out) const = 0;
    virtual void do_write_state(std::span<const float> in) = 0;
    // Where this session's logits live: V floats that stay in place for the session's lifetime
    // (asked for once, on the first token). feed and feed_batch have the backend write into them;
    // prefill copies its result in once it has succeeded. The default is a vector the session
    // owns; the CUDA backend gives pinned host memory that the card copies into directly.
    virtual std::span<float> logits_storage();

private:
    void check_tokens(std::span<const std::int32_t> tokens) const;
    std::span<float> out_logits(); // logits_storage(), asked for once and checked
    // feed_batch's checks: as many tokens as sessions, each session distinct and of one model,
    // every token in range.
    static void check_batch(std::span<Session* const> sessions,
                            std::span<const std::int32_t> tokens);
    void stepped(bool logits_with_backend); // one token absorbed, its logits where it says
    std::int32_t greedy_limit(std::int32_t below) const; // feed_greedy's `below`, in [1, V]

    const ModelInfo& m_info;
    std::vector<float> m_logits; // the default logits_storage()
    std::span<float> m_out;      // what logits_storage() gave; empty until the first token
    bool m_have_logits = false;
    mutable bool m_logits_with_backend = false; // a greedy step's, until logits() fetches them
    std::int64_t m_tokens = 0;
};

} // namespace gander
