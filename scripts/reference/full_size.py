"""Full-size reference: a random-initialised XLS-R 300M RAT checkpoint with the published layout,
and PyTorch's scores and timings for a 2 s clip, for scripts/check-full.ts and the benchmark.

    /usr/bin/python3 scripts/reference/full_size.py --dir /tmp/rat-full [--seconds 2] [--repeats 3]

Writes <dir>/rat-full.pt (about 1.3 GB; reused when present with the same seed), <dir>/clips.safetensors
(test and reference waveforms, 16 kHz float32) and <dir>/golden.json (scores, timings, peak memory).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rat_reference as R  # noqa: E402

SEED = 20260


def fit(wave: torch.Tensor, n: int) -> torch.Tensor:
    reps = -(-n // wave.numel())
    return wave.repeat(reps)[:n].clone()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.dir, exist_ok=True)
    ckpt = os.path.join(args.dir, "rat-full.pt")
    n = int(round(args.seconds * 16000))
    test = fit(R.alsa_wave("Front_Center")[0], n)
    ref = R.alsa_wave("Front_Left")[0]

    cfg = R.bench_config()
    seed_mark = f"{SEED}" + ("" if cfg == R.RatConfig() else f" {R.config_json(cfg)}")
    t0 = time.perf_counter()
    marker = os.path.join(args.dir, "rat-full.seed")
    if os.path.exists(ckpt) and os.path.exists(marker) and open(marker).read() == seed_mark:
        model = R.RAT(cfg)
        model.load_state_dict(torch.load(ckpt))  # our own file, written below
        model.eval()
        built = "reused"
    else:
        model = R.build(cfg, SEED)
        calib = [fit(R.alsa_wave(f)[0], 16000).unsqueeze(0) for f in ("Front_Right", "Rear_Left", "Side_Left", "Noise")]
        R.calibrate_batchnorm(model, calib, SEED)
        torch.save(model.state_dict(), ckpt)
        open(marker, "w").write(seed_mark)
        built = "generated"
    build_s = time.perf_counter() - t0

    results = {}
    with torch.no_grad():
        for mode, r in (("zero", None), ("audio", ref.unsqueeze(0))):
            model.forward_detailed(test.unsqueeze(0), r)  # warm-up
            times = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                out = model.forward_detailed(test.unsqueeze(0), r)
                times.append(time.perf_counter() - t)
            results[mode] = {
                "p_bonafide": float(out["p_bonafide"]),
                "logits": R.to_list(out["logits"]),
                "attn_rms": R.to_list(out["attn_rms"]),
                "mlp_rms": R.to_list(out["mlp_rms"]),
                "median_ms": statistics.median(times) * 1000,
            }
    R.save_safetensors(os.path.join(args.dir, "clips.safetensors"), {"test": test, "ref": ref})
    golden = {
        "checkpoint": ckpt,
        "checkpoint_bytes": os.path.getsize(ckpt),
        "params": R.count_params(model),
        "checkpoint_was": built,
        "build_or_load_s": build_s,
        "seconds": args.seconds,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "peak_rss_mb": peak_rss_mb(),
        "results": results,
    }
    with open(os.path.join(args.dir, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
    print(json.dumps({k: v for k, v in golden.items() if k != "results"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
