"""PyTorch side of `npm run bench`: times the full-size RAT on the benchmark clips, same clips as Node.

    /usr/bin/python3 scripts/bench/torch_bench.py --dir /tmp/rat-full --out result.json [--repeats 3] [--batch 50]
        [--seconds 4,12] [--threads 2] [--device cpu|cuda] [--precision fp32|bf16]

Reads <dir>/rat-full.pt (written by scripts/reference/full_size.py), writes <dir>/bench-clips.safetensors
(the test clips and the reference, 16 kHz float32, read by the Node side) and a JSON result: per clip
length and reference mode the median time after a warm-up, P(bona fide), logits; batch throughput
(clips of the first length, reference features computed once); peak RSS while scoring.
An audio reference is "seen before": its per-layer features are computed once, outside the timing,
as the tfjs model's prepareReference caches its keys and values.
On CUDA each run is timed between torch.cuda.synchronize() calls; fp32 runs with TF32 off (the
parity reference), bf16 under autocast. The first score after loading is timed on its own.
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
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import rat_reference as R  # noqa: E402

def fit(wave: torch.Tensor, n: int) -> torch.Tensor:
    reps = -(-n // wave.numel())
    return wave.repeat(reps)[:n].clone()


def rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1048576


def reset_peak() -> None:
    """Resets the kernel's peak-RSS mark (VmHWM), so the peak covers scoring, not loading."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score(model: R.RAT, wave: torch.Tensor, ref_feats):
    """forward_detailed with the reference's features given (None: the zero vector)."""
    feats = model.extractor.extract_features(wave.unsqueeze(0))
    z, _, _ = model.rib(feats, ref_feats)
    logits = model.classifier(z.mean(dim=(0, 2)))
    return F.softmax(logits, dim=1)[0, 0], logits[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--seconds", default="4,12")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    lengths = [float(s) for s in args.seconds.split(",") if s]
    dev = torch.device(args.device)
    cuda = args.device == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    clips = {f"test_{s:g}": fit(R.alsa_wave("Front_Center")[0], int(round(s * 16000))) for s in lengths}
    ref = R.alsa_wave("Front_Left")[0]
    R.save_safetensors(os.path.join(args.dir, "bench-clips.safetensors"), {**clips, "ref": ref})
    clips = {k: v.to(dev) for k, v in clips.items()}
    ref = ref.to(dev)

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    def run(wave: torch.Tensor, rf):
        if args.precision == "bf16":
            with torch.autocast(device_type=args.device, dtype=torch.bfloat16):
                p, logits = score(model, wave, rf)
            return p.float(), logits.float()
        return score(model, wave, rf)

    t0 = time.perf_counter()
    model = R.RAT(R.bench_config())
    state = torch.load(os.path.join(args.dir, "rat-full.pt"))  # our own file, written by full_size.py
    model.load_state_dict(state)
    del state
    model.eval()
    model.to(dev)
    sync()
    load_s = time.perf_counter() - t0
    load_peak = peak_mb()
    reset_peak()

    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "load_s": load_s, "load_peak_rss_mb": load_peak,
           "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "device": args.device, "precision": args.precision,
           "gpu": torch.cuda.get_device_name() if cuda else None, "rows": {}}
    with torch.no_grad():
        t = time.perf_counter()
        run(clips[f"test_{lengths[0]:g}"], None)
        sync()
        out["first_score_ms"] = (time.perf_counter() - t) * 1000
        ref_feats = model.extractor.extract_features(ref.unsqueeze(0))
        for s in lengths:
            wave = clips[f"test_{s:g}"]
            modes = (("zero", None), ("audio", ref_feats))
            times = {mode: [] for mode, _ in modes}
            last = {}
            # the two modes alternate, so drift in the machine's speed falls on both alike; run 0 is the warm-up
            for i in range(args.repeats + 1):
                for mode, rf in modes:
                    sync()
                    t = time.perf_counter()
                    last[mode] = run(wave, rf)
                    sync()
                    if i > 0:
                        times[mode].append((time.perf_counter() - t) * 1000)
            for mode, _ in modes:
                p, logits = last[mode]
                out["rows"][f"{s:g}/{mode}"] = {"median_ms": statistics.median(times[mode]), "times_ms": times[mode],
                                                "p_bonafide": float(p), "logits": R.to_list(logits)}
                print(f"torch {s:g} s {mode}: {statistics.median(times[mode]):.0f} ms", file=sys.stderr)
        if args.batch > 0:
            base = clips[f"test_{lengths[0]:g}"]
            batch = [torch.roll(base, i * 1000) for i in range(args.batch)]
            t = time.perf_counter()
            for w in batch:
                run(w, ref_feats)
            sync()
            elapsed = time.perf_counter() - t
            out["batch"] = {"clips": args.batch, "seconds_each": lengths[0], "elapsed_s": elapsed, "clips_per_s": args.batch / elapsed}
            print(f"torch batch: {args.batch / elapsed:.2f} clips/s", file=sys.stderr)
    out["peak_rss_mb"] = peak_mb()
    if cuda:
        out["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 1048576
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps({"out": args.out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
