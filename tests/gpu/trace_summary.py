#!/usr/bin/env python3
"""Reads a launch trace (gander-bench --trace FILE, a build with -DGANDER_TRACE) and prints where a
decoding step's time goes on the card, launch by launch.

Each line of the trace is one block of one launch: when its first thread reached its wait for the
kernels before it (arrive) and when that wait returned (release). A launch's earliest release is
when every kernel before it in the stream had completed, so

  chain  = the next launch's first release - this launch's first release

is this launch's share of the step's critical path (its own work after the wait, plus the hand-off
to the next launch), and the chains of a step add up to the step. Where the kernel records its
blocks' ends too (GANDER_TRACE_BLOCK), the chain splits into

  work     = its last block's end - its first release,
  hand-off = the next launch's first release - that end (completion, the memory flush, the next
             launch's wait returning).

Also per launch:

  early  = first release - first arrival: how long before its inputs were ready its first block
           was resident (weights can stream in that time);
  late   = last arrival - first release, where positive: blocks that became resident only after
           the release (waves, or room that the launches before still held);
  spread = last release - first release;
  room   = blocks that became resident only after the launch before began to leave (arrived after
           its first block's end): there was no room for them beside it (registers, shared memory,
           threads), so they start their loads late. Needs the end hook.

The layers repeat one pattern of launches; their figures are the medians by position in the layer
over the layers of every traced step but the first and last layer of each. A decoding step is one
CUDA graph whose replays reuse their launches' %gridid, so a trace holds the last step it saw
(--steps 1, the default); records of several steps (an older trace) are split at their largest
gaps.

usage: trace_summary.py TRACE [--label NAME] [--steps N]
"""
import argparse
import collections
import statistics
import sys


def load(path):
    launches = collections.defaultdict(list)
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        grid, arrive, release, block, blocks, threads, sm, smem = (int(x) for x in f[:8])
        end = int(f[8]) if len(f) > 8 else 0  # 0: the kernel has no end hook (or an older trace)
        name = f[9] if len(f) > 9 else "-"
        launches[grid].append((arrive, release, block, blocks, threads, sm, smem, end, name))
    # A launch is one %gridid; should a graph's replays share one, its blocks split where their
    # releases are more than 200 us apart (a launch releases within a few us, steps are ms apart).
    groups = []
    for grid, recs in launches.items():
        recs.sort(key=lambda r: r[1])
        cur = [recs[0]]
        for r in recs[1:]:
            if r[1] - cur[-1][1] > 200_000:
                groups.append((grid, cur))
                cur = []
            cur.append(r)
        groups.append((grid, cur))
    out = []
    for grid, recs in groups:
        arr = [r[0] for r in recs]
        rel = [r[1] for r in recs]
        blocks, threads, smem = recs[0][3], recs[0][4], recs[0][6]
        r0 = min(rel)
        ends = [r[7] for r in recs if r[7] > 0]
        names = {r[8] for r in recs if r[8] != "-"}
        out.append({
            "name": "/".join(sorted(names)) if names else "-",
            "grid": grid, "n": len(recs), "blocks": blocks, "threads": threads, "smem": smem,
            "a0": min(arr), "a1": max(arr), "r0": r0, "r1": max(rel),
            "e0": min(ends) if ends else None, "e1": max(ends) if ends else None, "arr": arr,
            "n_late": sum(1 for a in arr if a > r0),
        })
    out.sort(key=lambda l: l["r0"])
    return out


def sig(l):
    return (l["blocks"], l["threads"], l["smem"], l["name"])


def split_steps(launches, steps):
    """The steps' launches: cut at the steps - 1 largest gaps between successive releases."""
    if steps <= 1 or len(launches) < steps:
        return [launches]
    gaps = sorted(range(1, len(launches)), key=lambda i: launches[i]["r0"] - launches[i - 1]["r0"],
                  reverse=True)[:steps - 1]
    cuts = [0] + sorted(gaps) + [len(launches)]
    return [launches[cuts[i]:cuts[i + 1]] for i in range(steps)]


def layer_period(step):
    """The shortest period P (3..24) with which the launches' shapes repeat over most of a step,
    and where the first full layer starts."""
    sigs = [sig(l) for l in step]
    best = None
    for p in range(3, 25):
        for start in range(0, min(p + 6, len(sigs))):
            reps = 0
            while start + (reps + 2) * p <= len(sigs) and \
                    sigs[start + reps * p:start + (reps + 1) * p] == \
                    sigs[start + (reps + 1) * p:start + (reps + 2) * p]:
                reps += 1
            if reps >= 3 and (best is None or reps * p > best[2] * best[0] or
                              (reps * p == best[2] * best[0] and p < best[0])):
                best = (p, start, reps + 1)
    return best


def us(ns):
    return ns / 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--label", default="")
    ap.add_argument("--steps", type=int, default=1)
    a = ap.parse_args()
    launches = load(a.trace)
    if not launches:
        print(f"{a.label}: no launches in {a.trace}")
        return 1
    short = [l for l in launches if l["n"] != l["blocks"]]
    steps = split_steps(launches, a.steps)
    head = f"== trace {a.label}: {len(launches)} launches, {sum(l['n'] for l in launches)} blocks"
    if short:
        head += f"; {len(short)} launches with blocks missing (not every block waits: fine)"
    print(head)
    for i, s in enumerate(steps):
        span = s[-1]["r0"] - s[0]["r0"]
        print(f"step {i}: {len(s)} launches, first release to last {us(span):.1f} us")
    mid = steps[len(steps) // 2]
    per = layer_period(mid)
    if per is None:
        print("no repeating layer pattern found")
        return 1
    p, start, reps = per
    print(f"a layer: {p} launches (pattern from launch {start} of a step, {reps} layers repeat)")

    # Averages by position in the layer, over every step's layers (first and last layer left out).
    rows = collections.defaultdict(lambda: collections.defaultdict(list))
    for s in steps:
        sp = layer_period(s)
        if sp is None or sp[0] != p:
            continue
        st, rp = sp[1], sp[2]
        for layer in range(1, rp - 1):
            for k in range(p):
                i = st + layer * p + k
                if i + 1 >= len(s):
                    continue
                l, nxt = s[i], s[i + 1]
                r = rows[k]
                r["chain"].append(nxt["r0"] - l["r0"])
                r["early"].append(l["r0"] - l["a0"])
                r["late"].append(max(0, l["a1"] - l["r0"]))
                r["spread"].append(l["r1"] - l["r0"])
                r["n_late"].append(l["n_late"])
                prev = s[i - 1]
                if prev["e0"] is not None:
                    r["room"].append(sum(1 for t in l["arr"] if t > prev["e0"]))
                if l["e1"] is not None:
                    r["work"].append(l["e1"] - l["r0"])
                    r["handoff"].append(nxt["r0"] - l["e1"])
                r["sig"] = sig(l)
    print(f"{'pos':>3} {'kernel':>12} {'blocks':>6} {'thr':>4} {'smem KB':>7} {'chain us':>9} {'work us':>8} "
          f"{'hand-off':>8} {'early us':>9} {'late us':>8} {'spread us':>9} {'late blks':>9} {'room blks':>9}")
    total = 0.0
    for k in range(p):
        r = rows[k]
        if not r["chain"]:
            continue
        b, t, sm, name = r["sig"]
        c = statistics.median(r["chain"])
        total += c
        w = f"{us(statistics.median(r['work'])):>8.2f}" if r["work"] else f"{'-':>8}"
        ho = f"{us(statistics.median(r['handoff'])):>8.2f}" if r["handoff"] else f"{'-':>8}"
        room = f"{statistics.median(r['room']):>9.0f}" if r["room"] else f"{'-':>9}"
        print(f"{k:>3} {name:>12} {b:>6} {t:>4} {sm / 1024:>7.1f} {us(c):>9.2f} {w} {ho} "
              f"{us(statistics.median(r['early'])):>9.2f} {us(statistics.median(r['late'])):>8.2f} "
              f"{us(statistics.median(r['spread'])):>9.2f} {statistics.median(r['n_late']):>9.0f} {room}")
    print(f"a layer (sum of the medians): {us(total):.1f} us")

    # The middle step's launches outside the layers (embedding, head, sampling).
    extra = mid[:start] + mid[start + reps * p:]
    if extra:
        print("outside the layers:")
        for l in extra:
            i = mid.index(l)
            c = mid[i + 1]["r0"] - l["r0"] if i + 1 < len(mid) else 0
            print(f"    {l['name']:>12} {l['blocks']:>6} x {l['threads']:>4}, smem {l['smem'] / 1024:.1f} KB: "
                  f"chain {us(c):.2f} us, early {us(l['r0'] - l['a0']):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
