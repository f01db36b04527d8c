// What a dependency between two launches costs with nothing else to do (a measurement: gander-bench
// --kernels-only handoff; docs/performance.md, eighteenth session). A chain of `launches` launches
// of `blocks` blocks each: every block of launch i reads what block 0 of launch i - 1 wrote and
// writes it plus one, so the chain's last value is `launches`. How each launch waits for the one
// before it:
//   Stream: plain stream order (the launch starts when the one before has finished);
//   Pdl:    programmatic dependent launch, as the decoding step's kernels (resident early, each
//           block's griddepcontrol.wait returns once the launch before has completed and its
//           memory is flushed);
//   Flag:   launched as Pdl but never waiting for completion: each block of the launch before
//           counts itself on a flag after its store (fence, then atomic add) and the block's first
//           thread spins on that flag until every block has. A launch can start only once every
//           block of the one before has started (so no block spins on one that is not resident).
#pragma once

#include <cuda_runtime.h>

namespace gander::kernels {

enum class HandoffMode : int { Stream, Pdl, Flag };

// values: launches + 1 floats (values[0] the chain's start, zeroed here); flags: launches
// unsigned (zeroed here). Blocks 1..1024.
cudaError_t handoff_chain(HandoffMode mode, int launches, int blocks, float* values,
                          unsigned* flags, cudaStream_t stream);

} // namespace gander::kernels
