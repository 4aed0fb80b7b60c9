#!/usr/bin/env python3
"""The baseline: the per-token formulas hedge computes, as a data scientist would script them
today with json + numpy, over the same OpenAI Chat Completions sidecar.

    python bench/numpy_baseline.py bench/out/doc.md.logprobs.json -o bench/out/numpy_result.json

Per token: p = exp(logprob), surprisal in bits, rank of the chosen token among the listed
alternatives, residual mass, and the top-k entropy interval of /work/shared/design.md
("Entropy from top-k is an interval"):

    K = listed alternatives + the chosen token (if not listed); r = max(0, 1 - sum_K p)
    H_K = -sum_K p log2 p; c = smallest listed alternative's p
    low  = H_K + m * (-c log2 c) + (-rho log2 rho),   m = floor(r / c), rho = r - m c
    high = H_K + r log2((V - |K|) / r),               V = 262144
    (low = high = H_K when r <= 1e-12)

Per sequence: joint ln p, perplexity exp(-mean ln p), mean surprisal, mean entropy interval.
Sentinel logprobs (<= -9999) are treated as unknown, never averaged in. Writes a JSON result
(the summary plus the flagged positions: off-greedy, p < 0.5, or residual > 0.05), and prints
phase timings to stderr. The wall time measured by run.sh includes interpreter start-up,
`import numpy` and json loading, as hedge's includes reading and parsing.

Vectorised fairly: the only Python-level loop is the one that flattens the parsed JSON into
padded 2-D arrays (unavoidable after json.load); all the maths is numpy over those arrays.
"""

import argparse
import json
import sys
import time

import numpy as np

V = 262_144
SENTINEL = -9999.0
LN2 = np.log(2.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sidecar")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--vocab-size", type=int, default=V)
    args = ap.parse_args()
    t0 = time.perf_counter()

    # 1. Load.
    with open(args.sidecar, "rb") as f:
        data = json.load(f)
    content = data["choices"][0]["logprobs"]["content"]
    t1 = time.perf_counter()

    # 2. Flatten into arrays: chosen logprob (n,), listed logprobs padded with -inf (n, K),
    #    and whether the chosen token is one of the listed ones (same bytes, else same text).
    n = len(content)
    k = max((len(t["top_logprobs"]) for t in content), default=0)
    lp = np.fromiter((t["logprob"] for t in content), dtype=np.float64, count=n)
    top = np.full((n, k), -np.inf)
    listed = np.zeros(n, dtype=bool)
    for i, t in enumerate(content):
        alts = t["top_logprobs"]
        if alts:
            top[i, : len(alts)] = [a["logprob"] for a in alts]
            key = t.get("bytes") or t["token"]
            field = "bytes" if t.get("bytes") else "token"
            listed[i] = any(a.get(field) == key for a in alts)
    t2 = time.perf_counter()

    # 3. Maths, vectorised.
    has_top = np.isfinite(top[:, 0]) if k else np.zeros(n, dtype=bool)
    sentinel = lp <= SENTINEL
    known_lp = ~sentinel
    p = np.where(known_lp, np.exp(lp), np.nan)
    surprisal = np.where(known_lp, -lp / LN2, np.nan)

    P = np.exp(top)  # exp(-inf) = 0 for padding
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(P > 0, -P * np.log2(P), 0.0)
    # The known set K: the listed alternatives plus the chosen token if it is not listed.
    extra = (~listed) & known_lp
    p_extra = np.where(extra, p, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h_extra = np.where(p_extra > 0, -p_extra * np.log2(p_extra), 0.0)
    h_k = plogp.sum(axis=1) + h_extra
    size_k = (P > 0).sum(axis=1) + extra
    r = np.maximum(0.0, 1.0 - (P.sum(axis=1) + p_extra))

    # Lower bound: pack r into m tokens of probability c (the smallest listed p) plus one of rho.
    cap = np.where(has_top, np.where(P > 0, P, np.inf).min(axis=1) if k else 1.0, 1.0)
    cap = np.clip(cap, np.finfo(float).tiny, 1.0)
    m = np.floor(r / cap)
    rho = np.maximum(r - m * cap, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        packed = np.where(m > 0, -m * cap * np.log2(cap), 0.0)
        rest = np.where(rho > 0, -rho * np.log2(rho), 0.0)
        unseen = np.maximum(args.vocab_size - size_k, 0.0)
        spread = np.where(unseen >= 1, r * np.log2(unseen / r), 0.0)
    wide = r > 1e-12
    h_low = np.where(wide, h_k + packed + rest, h_k)
    h_high = np.where(wide, np.where(unseen >= 1, h_k + spread, h_low), h_k)
    h_high = np.maximum(h_high, h_low)
    has_k = has_top | known_lp  # positions with an entropy estimate
    h_low = np.where(has_k, h_low, np.nan)
    h_high = np.where(has_k, h_high, np.nan)

    # Rank: 1 + listed alternatives strictly above the chosen logprob (its own entry is equal).
    rank = np.where(has_top & known_lp, 1 + (top > lp[:, None]).sum(axis=1), 0)
    off_greedy = (rank > 1) | (sentinel & has_top)

    # Sequence figures.
    lps = lp[known_lp]
    joint = float(lps.sum())
    ppl = float(np.exp(-lps.mean())) if lps.size else None
    result = {
        "tokens": n,
        "scored_tokens": int(lps.size),
        "joint_logprob": joint,
        "perplexity": ppl,
        "mean_surprisal_bits": float(surprisal[known_lp].mean()) if lps.size else None,
        "mean_entropy_bits": {
            "low": float(np.nanmean(h_low)),
            "high": float(np.nanmean(h_high)),
        },
        "sentinel_tokens": int(sentinel.sum()),
        "off_greedy_tokens": int(off_greedy.sum()),
        "wide_residual_tokens": int((r > 0.05).sum()),
    }
    flagged = np.flatnonzero(off_greedy | (p < 0.5) | (r > 0.05))
    result["flagged"] = [
        {
            "index": int(i),
            "token": content[i]["token"],
            "p": float(p[i]),
            "surprisal_bits": float(surprisal[i]),
            "rank": int(rank[i]),
            "residual_mass": float(r[i]),
            "entropy_bits": [float(h_low[i]), float(h_high[i])],
        }
        for i in flagged
    ]
    t3 = time.perf_counter()

    # 4. Write.
    with open(args.output, "w") as f:
        json.dump(result, f)
    t4 = time.perf_counter()
    print(
        f"numpy_baseline: load {t1 - t0:.3f}s  flatten {t2 - t1:.3f}s  maths {t3 - t2:.3f}s  "
        f"write {t4 - t3:.3f}s  (tokens {n}, K {k}, flagged {flagged.size})",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
