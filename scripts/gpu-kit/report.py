"""The GPU kit's table: PyTorch CUDA (fp32, bf16) beside tfjs WebGPU on the same checkpoint and waveforms.

    python3 report.py <out dir>     # reads torch-fp32.json, torch-bf16.json, webgpu.json; writes gpu-results.md
"""

import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ms(v):
    return "-" if v is None else f"{v:.1f} ms"


def main() -> int:
    out = sys.argv[1]
    fp32 = load(os.path.join(out, "torch-fp32.json"))
    bf16 = load(os.path.join(out, "torch-bf16.json"))
    web = load(os.path.join(out, "webgpu.json"))
    cases = ["4/zero", "4/audio", "12/zero"]
    head = "| row | 4 s, zero ref | 4 s, 4 s audio ref | 12 s, zero ref | first score | load | dispatches per 4 s score (zero / audio) | GPU memory | max \\|dP\\| vs PyTorch fp32 |"
    lines = [head, "|" + " --- |" * 9]
    ref = fp32["rows"] if fp32 else {}

    def dp(rows):
        d = [abs(rows[c]["p_bonafide"] - ref[c]["p_bonafide"]) for c in cases if c in rows and c in ref]
        return f"{max(d):.1e}" if d else "-"

    dev = "CUDA" if not fp32 or fp32.get("device") == "cuda" else "CPU"
    for name, t in ((f"PyTorch {dev} fp32 (TF32 off)", fp32), (f"PyTorch {dev} bf16 autocast", bf16)):
        if not t:
            lines.append(f"| {name} | did not run |" + " |" * 8)
            continue
        r = t["rows"]
        lines.append(f"| {name} | " + " | ".join(ms(r.get(c, {}).get("median_ms")) for c in cases) +
                     f" | {ms(t.get('first_score_ms'))} | {t['load_s']:.2f} s | | {t.get('gpu_peak_mb', 0):.0f} MB peak | {'reference' if t is fp32 else dp(r)} |")
    if web:
        r = web["rows"]
        dz = r.get("4/zero", {}).get("dispatches", "-")
        da = r.get("4/audio", {}).get("dispatches", "-")
        lines.append("| tfjs WebGPU (this project) | " + " | ".join(ms(r.get(c, {}).get("median_ms")) for c in cases) +
                     f" | {ms(web['first_score_ms'])} | {web['load_ms'] / 1000:.2f} s | {dz} / {da} | {web['tf_gpu_mb']:.0f} MB tfjs ({web['weights_mb']:.0f} MB weights) | {dp(r)} |")
        if fp32:
            ratios = [f"{c}: {r[c]['median_ms'] / ref[c]['median_ms']:.2f}x" for c in cases if c in r and c in ref]
            lines.append("")
            lines.append(f"WebGPU / PyTorch {dev} fp32: " + ", ".join(ratios) + f"; adapter: {web['adapter']}; pass: {web['pass']}; tfjs {web['tfjs']}")
    else:
        lines.append("| tfjs WebGPU (this project) | did not run |" + " |" * 8)
    if fp32:
        lines.append(f"PyTorch {fp32['torch']} on {fp32.get('gpu')}")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "gpu-results.md"), "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
