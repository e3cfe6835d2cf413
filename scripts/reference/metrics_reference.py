"""EER and minDCF on fixed score lists, computed independently of the TypeScript code, for tests/unit/metrics.test.ts.

    /usr/bin/python3 scripts/reference/metrics_reference.py            # writes tests/fixtures/metrics.json
    /usr/bin/python3 scripts/reference/metrics_reference.py --check    # fails if the committed file differs

Definitions as rat-spec.md "Evaluation metrics": scores are P(bona fide), accepted as bona fide when
score >= threshold, thresholds are every distinct score; EER = (FRR + FAR) / 2 where |FRR - FAR| is
smallest (lowest threshold on a tie); minDCF with Ptar 0.95, Cmiss 1, Cfa 10, normalised by
min(Cmiss * Ptar, Cfa * (1 - Ptar)). Written as a brute-force count per threshold (O(n^2)) on
purpose: nothing is shared with the sorted sweep in src/analysis/metrics.ts.
"""
import argparse
import json
import os
import random
import sys

P_TAR, C_MISS, C_FA = 0.95, 1.0, 10.0
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "metrics.json")


def metrics(bona, spoof):
    best_gap, eer, eer_t = None, None, None
    best_dcf, dcf_t = None, None
    norm = min(C_MISS * P_TAR, C_FA * (1 - P_TAR))
    for t in sorted(set(bona) | set(spoof)):
        frr = sum(1 for x in bona if x < t) / len(bona)
        far = sum(1 for x in spoof if x >= t) / len(spoof)
        gap = abs(frr - far)
        if best_gap is None or gap < best_gap:
            best_gap, eer, eer_t = gap, (frr + far) / 2, t
        dcf = (C_MISS * frr * P_TAR + C_FA * far * (1 - P_TAR)) / norm
        if best_dcf is None or dcf < best_dcf:
            best_dcf, dcf_t = dcf, t
    return {"eer": eer, "eer_threshold": eer_t, "min_dcf": best_dcf, "min_dcf_threshold": dcf_t}


def cases():
    rng = random.Random(20260527)
    # overlapping classes, rounded to 2 decimals so many scores tie across and within classes
    wide_b = [round(min(1, max(0, rng.gauss(0.65, 0.2))), 2) for _ in range(300)]
    wide_s = [round(min(1, max(0, rng.gauss(0.4, 0.2))), 2) for _ in range(700)]
    # ASVspoof-like imbalance (few bona fide), unrounded
    imb_b = [rng.betavariate(5, 2) for _ in range(40)]
    imb_s = [rng.betavariate(2, 5) for _ in range(900)]
    return [
        ("one bona fide and one spoof, separated", [0.8], [0.3]),
        ("one bona fide and one spoof, inverted", [0.2], [0.7]),
        ("one bona fide and one spoof, equal", [0.5], [0.5]),
        ("all scores equal", [0.42] * 3, [0.42] * 4),
        ("perfect separation", [0.9, 0.95, 0.99, 0.7], [0.1, 0.2, 0.05, 0.69]),
        ("perfectly wrong", [0.1, 0.2, 0.3], [0.7, 0.8, 0.9, 0.95]),
        ("ties across classes", [0.5, 0.5, 0.7, 0.3, 0.7], [0.5, 0.3, 0.3, 0.1, 0.7, 0.2]),
        ("zeros and ones", [1.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0, 0.0]),
        ("overlapping, rounded (1000 scores)", wide_b, wide_s),
        ("imbalanced, 40 bona fide and 900 spoof", imb_b, imb_s),
    ]


def build():
    out = {"costs": {"p_target": P_TAR, "c_miss": C_MISS, "c_fa": C_FA}, "cases": []}
    for name, b, s in cases():
        out["cases"].append({"name": name, "bonafide": b, "spoof": s, **metrics(b, s)})
    return json.dumps(out, indent=1) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="compare with the committed tests/fixtures/metrics.json")
    args = ap.parse_args()
    text = build()
    if args.check:
        with open(OUT) as f:
            if f.read() != text:
                sys.exit("tests/fixtures/metrics.json differs from what metrics_reference.py computes; run it without --check and commit")
        print("metrics fixture: ok")
        return
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
