#!/usr/bin/env bash
# THE script for the GPU machine: configures and builds (Ninja, CUDA on, no GUI), runs the gpu tests
# and the engine tests, then gander-bench on the 7.2B shape. Logs and bench.json go to $OUT (or
# ./out-gpu); a short table is printed last. Fits in 10 minutes on an H100.
#   GANDER_FIXTURES=/path/to/fixtures tests/gpu/run.sh [--no-bench] [--bench-only]
# Variables (see below): GPU_TESTS, ENGINE_TESTS, KERNELS (+ KERNELS_VARIANTS), BENCH_PRECISIONS, AB*_VARIANTS /
# _PRECISION / _ARGS, AB_REPEAT, SKIPS (+ SKIP_PRECISION, SKIP_BATCH), SASS=1, BUILD2_FLAGS,
# PROFILE_KERNELS="wide one", WIDE_KERNELS_VARIANTS, KERNEL_SECTIONS, TRACE_PRECISIONS (with
# BUILD2_FLAGS=-DGANDER_TRACE).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/out-gpu}
mkdir -p "$OUT"
BUILD=${BUILD:-build-gpu}
ARCH=${CMAKE_CUDA_ARCHITECTURES:-90}
bench=1
tests=1
profile=0
sanitize=0
nsys=0
for a in "$@"; do
  case $a in
    --no-bench) bench=0 ;;
    --bench-only) tests=0 ;;
    --profile) profile=1 ;;
    --sanitize) sanitize=1 ;;
    --nsys) nsys=1 ;;
  esac
done

t0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem \
  --format=csv > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"
cmake -S . -B "$BUILD" -G Ninja -DGANDER_GUI=OFF -DGANDER_CUDA=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$ARCH" > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; exit 1; }
ninja -C "$BUILD" -j"$(nproc)" > "$OUT/build.log" 2>&1 || { grep -E "error|FAILED" -A3 "$OUT/build.log" | head -60; exit 1; }
# BUILD2_FLAGS="-DGANDER_LATE_TRIGGER": a second gander-bench in $BUILD-2 with those CUDA flags; an
# A/B variant that contains BUILD2=1 runs it (compile-time switches against the default build).
if [ -n "${BUILD2_FLAGS:-}" ]; then
  cmake -S . -B "$BUILD-2" -G Ninja -DGANDER_GUI=OFF -DGANDER_CUDA=ON -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DCMAKE_CUDA_FLAGS="$BUILD2_FLAGS" > /dev/null 2>&1 &&
    ninja -C "$BUILD-2" -j"$(nproc)" gander-bench >> "$OUT/build.log" 2>&1 ||
    { echo "second build ($BUILD2_FLAGS) failed"; tail -20 "$OUT/build.log"; exit 1; }
fi
t_build=$(( $(date +%s) - t0 ))
echo "build: ${t_build}s"
# SASS=1: the machine code of the decoding step's kernels to $OUT (this machine has cuobjdump;
# the development machine does not), gzipped, one file a source.
if [ "${SASS:-0}" = 1 ]; then
  for f in gemv_tc ffn_sparse wkv7 norm; do
    o=$(find "$BUILD" -name "$f.cu.o" | head -1)
    [ -n "$o" ] && cuobjdump -sass "$o" | gzip > "$OUT/sass_$f.txt.gz"
  done
fi

gpu_rc=0
eng_rc=0
if [ $tests = 1 ]; then
  # GPU_TESTS=regex runs a subset (e.g. to save device time).
  (cd "$BUILD" && ctest -L gpu ${GPU_TESTS:+-R "$GPU_TESTS"} -V --timeout 300 > "$OUT/ctest-gpu.log" 2>&1)
  gpu_rc=$?
  # engine_test_quantize (CPU only, ~190 s on 16 cores) runs in CI; here it would eat device time.
  # ENGINE_TESTS=0 skips the engine tests altogether (they all run in CI).
  [ "${ENGINE_TESTS:-1}" = 0 ] || (cd "$BUILD" && ctest -L engine -E "${ENGINE_EXCLUDE:-quantize}" --output-on-failure --timeout 300 \
     -j8 > "$OUT/ctest-engine.log" 2>&1)
  eng_rc=$?
  grep -E "^\s*[0-9]+/[0-9]+ Test|tests passed|FAILED|err |worst|after |device:|refusal|SEED" \
    "$OUT/ctest-gpu.log" | head -60
  [ $gpu_rc = 0 ] || grep -E "FAILED|Failed|\[ FAIL" -B2 "$OUT/ctest-gpu.log" | head -60
  grep -E "tests passed|Failed|\*\*\*" "$OUT/ctest-engine.log" | head -20
fi

bench_rc=0
if [ $bench = 1 ]; then
  # Every bench appends to bench.log (the device tool returns at most 8 files).
  : > "$OUT/bench.log"
  # Each decoding matrix-vector kernel alone against the copy bandwidth (KERNELS=0 skips it).
  if [ "${KERNELS:-1}" = 1 ]; then
    timeout 200 "$BUILD/bin/gander-bench" --backend cuda --kernels > "$OUT/kernels.log" 2>&1 || bench_rc=$?
    cat "$OUT/kernels.log"
    # KERNELS_VARIANTS="GANDER_TC_BULK=0;GANDER_BULK_CHUNK=2048": the table again under each set
    # of variables (all into kernels-ab.log; its tensor-core and chain lines printed).
    IFS=';' read -ra kvariants <<< "${KERNELS_VARIANTS:-}"
    for v in "${kvariants[@]}"; do
      echo "== kernels with [$v]" | tee -a "$OUT/kernels-ab.log"
      env $v timeout 200 "$BUILD/bin/gander-bench" --backend cuda --kernels > "$OUT/kab.tmp" 2>&1 || bench_rc=$?
      cat "$OUT/kab.tmp" >> "$OUT/kernels-ab.log"
      grep -E "tensor-core|32 layers" "$OUT/kab.tmp"
    done
    rm -f "$OUT/kab.tmp"
  fi
  # KERNEL_SECTIONS="handoff sparse": those sections of the kernel table alone (gander-bench
  # --kernels-only; "handoff" runs only so), into bench.log; under each set of variables of
  # KERNEL_SECTIONS_VARIANTS="GANDER_SPARSE_SCALES=0;X=1" (default: as they are).
  IFS=';' read -ra kvariants <<< "${KERNEL_SECTIONS_VARIANTS:-}"
  [ ${#kvariants[@]} -gt 0 ] || kvariants=("")
  for v in "${kvariants[@]}"; do
    for sec in ${KERNEL_SECTIONS:-}; do
      echo "== kernels-only $sec${v:+ with [$v]}" | tee -a "$OUT/bench.log"
      env $v timeout 120 "$BUILD/bin/gander-bench" --backend cuda --kernels-only "$sec" 2>&1 |
        tee -a "$OUT/bench.log" | tail -12 || bench_rc=1
    done
  done
  # WIDE_KERNELS_VARIANTS="X=0;GANDER_WIDE_COLS=512": the batched step's products alone (32 tokens,
  # gander-bench --kernels-only wide) under each set of variables, into bench.log.
  IFS=';' read -ra wvariants <<< "${WIDE_KERNELS_VARIANTS:-}"
  for v in "${wvariants[@]}"; do
    echo "== wide kernels with [$v]" | tee -a "$OUT/bench.log"
    env $v timeout 120 "$BUILD/bin/gander-bench" --backend cuda --kernels-only wide 2>&1 |
      grep -E "x32|rror" | tee -a "$OUT/bench.log"
  done
  # BENCH_PRECISIONS="fp16 int8 int4" benches each precision (fp16 alone by default).
  for prec in ${BENCH_PRECISIONS:-fp16}; do
    timeout 400 "$BUILD/bin/gander-bench" --backend cuda --shape 7.2b --precision "$prec" \
      >> "$OUT/bench.log" 2>&1 || bench_rc=$?
    tail -14 "$OUT/bench.log"
  done
  # A/B of decoding switches: AB_VARIANTS="GANDER_PDL=0;GANDER_GEMV=classic GANDER_PDL=0" runs a
  # short decode bench (precision AB_PRECISION, default int4) under each set of variables, the
  # whole list AB_REPEAT times (default 2, interleaved: machines drift), one result line each.
  # Batched figures read rate/feed ms/card ms (gander-bench: the step's feed_batch and its graph).
  # AB_ARGS replaces the bench arguments (e.g. "--decode-tokens 0 --prefill 4096" for prefill);
  # AB2_VARIANTS / AB2_PRECISION / AB2_ARGS a second group in the same call, AB3_* a third.
  ab_group() { # variants precision args
    IFS=';' read -ra variants <<< "$1"
    for _ in $(seq "${AB_REPEAT:-2}"); do
      for v in "${variants[@]}"; do
        echo "== A/B: $2 $3 with [$v]" >> "$OUT/bench.log"
        bin=$BUILD; case " $v " in *" BUILD2=1 "*) bin=$BUILD-2 ;; esac
        env $v timeout 200 "$bin/bin/gander-bench" --backend cuda --shape 7.2b \
          --precision "$2" $3 > "$OUT/ab.tmp" 2>&1 || bench_rc=$?
        cat "$OUT/ab.tmp" >> "$OUT/bench.log"
        echo "A/B $2 [$v]: $(grep -E '^(decode tok/s|decode sampled|decode / roofline|prefill tok/s|batched decode|batched sampled)' "$OUT/ab.tmp" |
          awk '{ if ($2 == "sampled" && $1 == "decode") { print "s" $4; next }
                 if ($1 != "batched") { print $NF; next }
                 c = ""; for (i = 5; i < NF; ++i) if ($i == "feed" || $i == "card") c = c "/" $(i + 1)
                 gsub(/[),]/, "", c); print $4 c }' | tr '\n' ' ')"
      done
    done
    rm -f "$OUT/ab.tmp"
  }
  ab_group "${AB_VARIANTS:-}" "${AB_PRECISION:-int4}" "${AB_ARGS:---decode-tokens 512 --prefill 64 --batch 0}"
  ab_group "${AB2_VARIANTS:-}" "${AB2_PRECISION:-fp16}" "${AB2_ARGS:---decode-tokens 0 --prefill 4096 --batch 0}"
  ab_group "${AB3_VARIANTS:-}" "${AB3_PRECISION:-int8}" "${AB3_ARGS:---decode-tokens 512 --prefill 64 --batch 0}"
  # TRACE_PRECISIONS="int4 int8": each precision's launches of a decoding step as the card ran them
  # (the last of gander-bench --trace's 132, from the second build, so BUILD2_FLAGS must hold
  # -DGANDER_TRACE), summarised by position in a layer into trace-summary.txt; the raw traces
  # gzipped beside it.
  # TRACE_ENV="GANDER_X=1": variables for the traced runs.
  for prec in ${TRACE_PRECISIONS:-}; do
    env ${TRACE_ENV:-} timeout 120 "$BUILD-2/bin/gander-bench" --backend cuda --shape 7.2b --precision "$prec" \
      --trace "$OUT/trace-$prec.tsv" 2>&1 | tee -a "$OUT/bench.log" || bench_rc=1
    python3 tests/gpu/trace_summary.py "$OUT/trace-$prec.tsv" --label "$prec ${TRACE_ENV:-}" 2>&1 |
      tee -a "$OUT/trace-summary.txt"
    gzip -f "$OUT/trace-$prec.tsv"
  done
  # Where a decoding step goes (SKIPS="lnmix up wkv out ffnv ..."): gander-bench with each stage's
  # launches left out (GANDER_MEASURE_SKIP: wrong output, timing only), precision SKIP_PRECISION
  # (int4), and the microseconds a layer (of the 7.2B shape's 32) each saves against none left
  # out: a 256-token decode (tok/s), or with SKIP_BATCH=N a batched step of N sessions (the card's
  # share of a step, its graph timed by events; the head and the embedding stay in every line).
  if [ -n "${SKIPS:-}" ]; then
    if [ -n "${SKIP_BATCH:-}" ]; then
      skip_args="--decode-tokens 0 --prefill 16 --batch $SKIP_BATCH"
      skip_unit="ms (card, batch $SKIP_BATCH)"
    else
      skip_args="--decode-tokens 256 --prefill 16 --batch 0"
      skip_unit="tok/s"
    fi
    skip_figure() {
      env ${1:+GANDER_MEASURE_SKIP=$1} timeout 120 "$BUILD/bin/gander-bench" --backend cuda \
        --shape 7.2b --precision "${SKIP_PRECISION:-int4}" $skip_args 2>&1 |
        awk -v batch="${SKIP_BATCH:-}" '
          !batch && /^decode tok\/s / { print $NF; exit }
          batch && /^batched decode B=/ {
            for (i = 1; i < NF; ++i) if ($i == "card") { v = $(i + 1); gsub(/[),]/, "", v); print v; exit } }'
    }
    base=$(skip_figure "")
    echo "skip none: $base $skip_unit" | tee -a "$OUT/bench.log"
    for k in $SKIPS; do
      r=$(skip_figure "$k")
      echo "skip $k: $r $skip_unit, $(awk -v a="$base" -v b="$r" -v batch="${SKIP_BATCH:-}" 'BEGIN {
        if (a > 0 && b > 0) printf "%.1f us a layer", batch ? 1e3 * (a - b) / 32 : (1e6 / a - 1e6 / b) / 32
        else print "?" }')" | tee -a "$OUT/bench.log"
    done
  fi
fi

# compute-sanitizer: out-of-bounds and uninitialised accesses over the kernel and model tests,
# shared-memory races over the kernels that use shared memory.
if [ $sanitize = 1 ]; then
  san_rc=0
  for t in gpu_test_kernels gpu_test_cuda_fixtures gpu_test_gemv_quant; do
    GANDER_FIXTURES=${GANDER_FIXTURES:-} timeout 200 compute-sanitizer --tool memcheck \
      --error-exitcode 9 "$BUILD/bin/$t" > "$OUT/memcheck-$t.log" 2>&1 || san_rc=1
    tail -3 "$OUT/memcheck-$t.log"
  done
  timeout 200 compute-sanitizer --tool racecheck --error-exitcode 9 "$BUILD/bin/gpu_test_kernels" \
    "wkv7" > "$OUT/racecheck.log" 2>&1 || san_rc=1
  tail -3 "$OUT/racecheck.log"
  timeout 100 compute-sanitizer --tool racecheck --error-exitcode 9 "$BUILD/bin/gpu_test_kernels" \
    "norm" > "$OUT/racecheck-norm.log" 2>&1 || san_rc=1
  tail -3 "$OUT/racecheck-norm.log"
  # The tensor-core GEMV stages x in shared memory (per warp, or the whole block for short rows).
  timeout 200 compute-sanitizer --tool racecheck --error-exitcode 9 "$BUILD/bin/gpu_test_gemv_quant" \
    > "$OUT/racecheck-gemv.log" 2>&1 || san_rc=1
  tail -3 "$OUT/racecheck-gemv.log"
  echo "sanitizer rc $san_rc"
fi

# Nsight Systems timelines (--nsys): NSYS_RUNS="name:precision:bench args;..." (default: int4 decode
# and int4 batched B=32). Per run: the kernels' total time by name, and the span of the timeline
# against the sum of kernel durations in it (what is left between kernels: gaps, host work).
if [ $nsys = 1 ]; then
  if ! command -v nsys > /dev/null; then echo "nsys: not on this machine"; else
  IFS=';' read -ra nruns <<< "${NSYS_RUNS:-dec:int4:--decode-tokens 64 --prefill 16 --batch 0;b32:int4:--decode-tokens 0 --prefill 16 --batch 32}"
  for r in "${nruns[@]}"; do
    IFS=':' read -r name prec args <<< "$r"
    timeout 300 nsys profile -q --cuda-graph-trace=node -t cuda -o "$OUT/nsys-$name" --force-overwrite true \
      "$BUILD/bin/gander-bench" --backend cuda --shape 7.2b --precision "$prec" $args > "$OUT/nsys-$name.log" 2>&1
    nsys stats -q --report cuda_gpu_trace --format csv -o "$OUT/trace-$name" "$OUT/nsys-$name.nsys-rep" > /dev/null 2>&1
    rm -f "$OUT/nsys-$name.nsys-rep" "$OUT/nsys-$name.sqlite"
    python3 - "$OUT"/trace-"$name"*.csv "$name" <<'PY' | tee "$OUT/nsys-$name.txt"
import csv, sys, collections
rows = list(csv.DictReader(open(sys.argv[1])))
name = sys.argv[2]
col = lambda w: next(k for k in rows[0] if k.startswith(w))
S, D = col("Start"), col("Duration")
rows = [{"Start (ns)": r[S], "Duration (ns)": r[D], "Name": r.get("Name", "")} for r in rows]
def short(n):
    n = n.replace("(anonymous namespace)::", "").replace("void ", "")
    return n.split("(")[0].split("<")[0].split("::")[-1][:34]
kern = [r for r in rows if r.get("Name") and not r["Name"].startswith("[CUDA")]
# the last 40 % of the timeline: past warm-up and random weight generation
t_end = max(int(r["Start (ns)"]) + int(r["Duration (ns)"]) for r in kern)
t_beg = t_end - 0.4 * (t_end - min(int(r["Start (ns)"]) for r in kern))
sel = [r for r in kern if int(r["Start (ns)"]) >= t_beg]
t0 = min(int(r["Start (ns)"]) for r in sel)
span = t_end - t0
busy = sum(int(r["Duration (ns)"]) for r in sel)
tot = collections.defaultdict(int); n = collections.Counter()
for r in sel:
    k = short(r["Name"]); tot[k] += int(r["Duration (ns)"]); n[k] += 1
print(f"nsys {name}: {len(sel)} kernels over {span/1e6:.2f} ms, kernels busy {busy/1e6:.2f} ms ({100*busy/span:.1f} %)")
for k in sorted(tot, key=tot.get, reverse=True)[:16]:
    print(f"  {k:34s} n={n[k]:6d} {tot[k]/1e6:8.3f} ms {tot[k]/n[k]/1e3:8.2f} us each")
PY
    [ -s "$OUT/nsys-$name.txt" ] || tail -20 "$OUT/nsys-$name.log"
    rm -f "$OUT"/trace-"$name"*.csv "$OUT/nsys-$name.log" # the device returns 8 files at most
  done
  fi
fi

# PROFILE_KERNELS="wide one" (either or both): Nsight Compute on products alone, each case launched once
# (gander-bench --kernels-only wide-once / one-once): wide, the batched step's (gemv_tc_wide and
# ffn_value_wide, 32 tokens, int8 then int4); one, the one-token tensor-core products (gemv_bulk /
# gemv_tc_kernel, fp16, int8, int4 for each shape). Its sections (speed of light, pipes, memory,
# warp stalls, occupancy, instruction mix, the source lines that stall most) to ncu-NAME.txt, the
# stall reasons and pipe metrics as one table (ncu-NAME.csv, summarised last).
for pk in ${PROFILE_KERNELS:-}; do
  case $pk in wide) kre='gemv_tc_wide|ffn_value_wide' ;; *) pk=one; kre='gemv_bulk|gemv_tc_kernel' ;; esac
  k_args=(--backend cuda --kernels-only "$pk-once")
  timeout 240 ncu -k regex:"$kre" --clock-control none \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
    --section WarpStateStats --section Occupancy --section LaunchStats --section SchedulerStats \
    --section InstructionStats --section SourceCounters \
    "$BUILD/bin/gander-bench" "${k_args[@]}" > "$OUT/ncu-$pk.txt" 2>&1
  grep -E "gemv_tc_wide|ffn_value_wide|gemv_bulk|gemv_tc_kernel|Duration|Throughput|Issue Slots Busy|Issued Ipc|Warp Cycles Per Issued|Achieved Occupancy|Registers Per|Eligible Warps|No Eligible" \
    "$OUT/ncu-$pk.txt" | head -120
  timeout 240 ncu -k regex:"$kre" --clock-control none --csv --print-units base \
    --metrics gpu__time_duration.sum,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active,l1tex__data_pipe_lsu_wavefronts_mem_shared.avg.pct_of_peak_sustained_elapsed,l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,lts__throughput.avg.pct_of_peak_sustained_elapsed,smsp__average_warps_issue_stalled_long_scoreboard_per_issue_active.ratio,smsp__average_warps_issue_stalled_short_scoreboard_per_issue_active.ratio,smsp__average_warps_issue_stalled_mio_throttle_per_issue_active.ratio,smsp__average_warps_issue_stalled_math_pipe_throttle_per_issue_active.ratio,smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio,smsp__average_warps_issue_stalled_wait_per_issue_active.ratio,smsp__average_warps_issue_stalled_lg_throttle_per_issue_active.ratio,smsp__average_warps_issue_stalled_not_selected_per_issue_active.ratio,smsp__average_warps_issue_stalled_selected_per_issue_active.ratio,smsp__average_warps_issue_stalled_dispatch_stall_per_issue_active.ratio,smsp__average_warps_issue_stalled_no_instruction_per_issue_active.ratio \
    "$BUILD/bin/gander-bench" "${k_args[@]}" > "$OUT/ncu-$pk.csv" 2> "$OUT/ncu-$pk.err"
  python3 - "$OUT/ncu-$pk.csv" <<'PY' | tee "$OUT/ncu-$pk-summary.txt"
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
if not rows: sys.exit(print("ncu: no metrics (see the .err file)"))
h = rows[0]; rows = rows[1:]
ii, ki, mi, vi = h.index("ID"), h.index("Kernel Name"), h.index("Metric Name"), h.index("Metric Value")
by = collections.OrderedDict()
for r in rows:
    k = r[ki].replace("(anonymous namespace)::", "").replace("void ", "")
    name = k.split("(")[0].split("<")[0].split("::")[-1] + ("<" + k.split("<")[1].split(">")[0] + ">" if "<" in k else "")
    by.setdefault((r[ii], name), {})[r[mi]] = r[vi]
short = lambda m: m.replace("smsp__average_warps_issue_stalled_", "stall ").replace("_per_issue_active.ratio", "").split(".")[0]
for (i, name), m in by.items():
    print(f"launch {i} {name}: " + ", ".join(f"{short(k)} {float(v.replace(',', '')):.3g}" for k, v in m.items()))
PY
done

# Per-kernel durations of one decoding step (ncu, graph nodes profiled one by one; the sum
# against the measured step time gives the launch overhead). gander-bench --profile-step brackets
# one step after the warm-up with cudaProfilerStart/Stop: every kernel of that step, whatever the
# launch count before it.
if [ $profile = 1 ]; then
  [ "${PROFILE_PREFILL_ONLY:-0}" = 1 ] || {
  timeout 240 ncu --profile-from-start off --graph-profiling node \
    --metrics gpu__time_duration.sum,dram__bytes_read.sum --clock-control none \
    --csv --print-units base "$BUILD/bin/gander-bench" --backend cuda --shape 7.2b \
    --precision "${PROFILE_PRECISION:-fp16}" --decode-tokens 8 --prefill 16 --batch 0 \
    --profile-step > "$OUT/ncu.csv" 2> "$OUT/ncu.err"
  python3 - "$OUT/ncu.csv" <<'PY' | tee "$OUT/ncu-summary.txt"
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
h = rows[0]; rows = rows[1:]
ki, mi, vi = h.index("Kernel Name"), h.index("Metric Name"), h.index("Metric Value")
t = collections.defaultdict(float); b = collections.defaultdict(float); n = collections.Counter()
for r in rows:
    name = r[ki].replace("(anonymous namespace)::", "").replace("<unnamed>::", "").replace("void ", "").split("(")[0].split("<")[0].split("::")[-1]
    v = float(r[vi].replace(",", ""))
    if r[mi] == "gpu__time_duration.sum": t[name] += v; n[name] += 1
    else: b[name] += v
tot = sum(t.values())
print(f"one decoding step: {sum(n.values())} kernels, {tot/1e3:.1f} us of kernel time")
for k in sorted(t, key=t.get, reverse=True):
    print(f"{k:28s} n={n[k]:4d} {t[k]/1e3:9.1f} us  {b[k]/t[k]:8.1f} GB/s" if t[k] else k)
PY
  }
  [ "${PROFILE_DECODE_ONLY:-0}" = 1 ] || {
  # Prefill: every kernel of the bench's warm-up prefill (1,024 + 512 tokens) and of a 1,024-token
  # prefill, after the 6 matrix products of the device figures and the 9 decoding steps
  # (9 x 259 kernels) that come first; random-weight generation is filtered out by name.
  timeout 300 ncu --metrics gpu__time_duration.sum,dram__bytes_read.sum \
    -k regex:'gemm|nvjet|cutlass|xmma|gemv|wkv|ln_shift|layer_norm|group_norm|relu2|lora|splitK|reduce' \
    --launch-skip 2337 \
    --launch-count 2200 --clock-control none --csv --print-units base "$BUILD/bin/gander-bench" \
    --backend cuda --shape 7.2b --decode-tokens 0 --prefill 1024 > "$OUT/ncu-prefill.csv" 2> "$OUT/ncu.err"
  python3 - "$OUT/ncu-prefill.csv" <<'PY' | tee "$OUT/ncu-prefill-summary.txt"
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
h = rows[0]; rows = rows[1:]
ki, mi, vi = h.index("Kernel Name"), h.index("Metric Name"), h.index("Metric Value")
t = collections.defaultdict(float); n = collections.Counter()
for r in rows:
    name = r[ki].replace("(anonymous namespace)::", "").replace("<unnamed>::", "").replace("void ", "").split("(")[0].split("<")[0].split("::")[-1][:40]
    if r[mi] == "gpu__time_duration.sum": t[name] += float(r[vi].replace(",", "")); n[name] += 1
tot = sum(t.values())
print(f"prefill, 2560 tokens: {sum(n.values())} kernels, {tot/1e6:.2f} ms of kernel time, {tot/2560/1e3:.2f} us/token")
for k in sorted(t, key=t.get, reverse=True)[:14]:
    print(f"{k:40s} n={n[k]:5d} {t[k]/1e6:8.2f} ms {100*t[k]/tot:5.1f}%")
PY
  }
fi

# The device returns 8 files at most: past that, all but the test and bench logs, gpu.txt and the
# summaries go into one archive (extra.tar.gz: build logs, full ncu reports, machine code).
if [ "$(find "$OUT" -maxdepth 1 -type f | wc -l)" -gt 8 ]; then
  (cd "$OUT" && find . -maxdepth 1 -type f -printf '%f\n' |
    grep -vE '^(bench\.log|ctest-gpu\.log|ctest-engine\.log|gpu\.txt|.*summary\.txt)$' > /tmp/extra.list &&
    tar czf extra.tar.gz -T /tmp/extra.list && xargs rm -f < /tmp/extra.list)
fi

echo
echo "==== summary ($(head -2 "$OUT/gpu.txt" | tail -1 | cut -d, -f1), $(( $(date +%s) - t0 ))s) ===="
[ $tests = 1 ] && echo "gpu tests: $(grep -E 'tests passed' "$OUT/ctest-gpu.log" || echo 'rc '$gpu_rc)"
[ $tests = 1 ] && [ -e "$OUT/ctest-engine.log" ] && echo "engine tests: $(grep -E 'tests passed' "$OUT/ctest-engine.log" || echo 'rc '$eng_rc)"
[ $bench = 1 ] && { echo "bench rc $bench_rc"; grep -E "A/B|gander-bench |bandwidth|decode tok/s|roofline|prefill tok/s|batched|peak memory|^skip " "$OUT/bench.log"; }
[ $gpu_rc = 0 ] && [ $bench_rc = 0 ]
