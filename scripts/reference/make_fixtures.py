"""Writes the parity fixtures under tests/fixtures/ (or checks that committed ones regenerate).

    /usr/bin/python3 scripts/reference/make_fixtures.py            # write tests/fixtures/
    /usr/bin/python3 scripts/reference/make_fixtures.py --check    # regenerate in a temp dir, compare

Every number here comes from PyTorch; the TypeScript tests only read these files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List, Tuple

import torch
import torchaudio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rat_reference as R  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ALSA = "/usr/share/sounds/alsa"
SR = 16000

# Two scaled-down configs. "tiny" keeps XLS-R's structure (strides, 16/4 heads, even positional
# kernel); "odd" changes everything shapes and config can change: 5 conv layers with other kernels,
# 6 encoder heads, 3 RIB heads, an odd positional kernel with 4 groups.
CONFIGS: Dict[str, R.RatConfig] = {
    "tiny": R.RatConfig(
        conv=[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2,
        embed_dim=64, num_layers=3, num_heads=16, ffn_dim=128,
        pos_conv_kernel=16, pos_conv_groups=16, rib_heads=4,
    ),
    "odd": R.RatConfig(
        conv=[(24, 11, 5), (40, 3, 2), (40, 5, 3), (40, 3, 2), (40, 2, 2)],
        embed_dim=48, num_layers=2, num_heads=6, ffn_dim=80,
        pos_conv_kernel=7, pos_conv_groups=4, rib_heads=3,
    ),
}
SEEDS = {"tiny": 1234, "odd": 98765}

# --run-config JSON the converter needs for "odd" (shapes cannot tell strides and head counts).
ODD_CONVERT_CONFIG = {
    "extractor_conv_layer_config": [list(c) for c in CONFIGS["odd"].conv],
    "encoder_num_heads": 6,
    "rib_num_heads": 3,
}


def espeak(text: str, voice: str, speed: int) -> torch.Tensor:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "s.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", path, text], check=True)
        return R.load_wave(path)[0]


def fit(wave: torch.Tensor, n: int) -> torch.Tensor:
    """Crop or zero-pad to exactly n samples."""
    if wave.numel() >= n:
        return wave[:n].clone()
    return torch.cat([wave, torch.zeros(n - wave.numel())])


def make_clips() -> Tuple[Dict[str, torch.Tensor], Dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(7)
    t = torch.arange(21937) / SR
    chirp = torch.sin(2 * math.pi * (120 * t + 900 * t * t)) * 0.3 + 0.02 * torch.randn(t.shape, generator=g)
    envelope = torch.hann_window(9613, periodic=False)
    tests = {
        "short_noise": (0.2 * torch.randn(9613, generator=g) * envelope).float(),  # under 1 s
        "odd_chirp": chirp.float(),  # odd length
        "speech_front_center": R.load_wave(f"{ALSA}/Front_Center.wav")[0],  # real speech
        "espeak_6s": fit(espeak("Please verify the speaker before we continue with the transfer of funds today.", "en-us", 150), 6 * SR),
        "speech_side_right": R.load_wave(f"{ALSA}/Side_Right.wav")[0],
    }
    refs = {
        "ref_front_left": R.load_wave(f"{ALSA}/Front_Left.wav")[0],
        "ref_espeak": espeak("This is my normal speaking voice.", "en-gb", 160),
    }
    return tests, refs


# Each test clip with the reference it is paired with in "audio" mode; lengths always differ.
PAIRS = {
    "short_noise": "ref_front_left",
    "odd_chirp": "ref_espeak",
    "speech_front_center": "ref_espeak",
    "espeak_6s": "ref_front_left",
    "speech_side_right": "ref_espeak",
}


def state_dict_variant(model: R.RAT, name: str) -> Dict[str, torch.Tensor]:
    """The published layout, spelled as different PyTorch versions and training setups save it."""
    sd = model.state_dict()
    if name == "odd":
        # torch >= 2.1 parametrizations spelling, and DistributedDataParallel's module. prefix
        renamed = {}
        for k, v in sd.items():
            k = k.replace("pos_conv_embed.conv.weight_g", "pos_conv_embed.conv.parametrizations.weight.original0")
            k = k.replace("pos_conv_embed.conv.weight_v", "pos_conv_embed.conv.parametrizations.weight.original1")
            renamed["module." + k] = v
        return renamed
    return sd


def build_fixture(name: str, out_dir: str, tests, refs) -> dict:
    cfg = CONFIGS[name]
    model = R.build(cfg, SEEDS[name])
    calib = [w.unsqueeze(0) for w in list(tests.values()) + list(refs.values())]
    R.calibrate_batchnorm(model, calib, SEEDS[name])
    os.makedirs(out_dir, exist_ok=True)
    sd = state_dict_variant(model, name)
    torch.save(sd, os.path.join(out_dir, "checkpoint.pt"))
    if name == "tiny":
        R.save_safetensors(os.path.join(out_dir, "checkpoint.safetensors"), dict(sd))

    features: Dict[str, torch.Tensor] = {}
    cases: List[dict] = []
    with torch.no_grad():
        for clip, wave in tests.items():
            for mode in ("zero", "audio"):
                ref_name = PAIRS[clip] if mode == "audio" else None
                ref = refs[ref_name].unsqueeze(0) if ref_name else None
                out = model.forward_detailed(wave.unsqueeze(0), ref)
                if mode == "zero":
                    features[f"{clip}/first"] = out["features"][0]
                    features[f"{clip}/last"] = out["features"][-1]
                cases.append({
                    "clip": clip,
                    "ref_mode": mode,
                    "ref": ref_name,
                    "frames": int(out["features"].shape[1]),
                    "p_bonafide": float(out["p_bonafide"]),
                    "logits": R.to_list(out["logits"]),
                    "embedding": R.to_list(out["embedding"]),
                    "attn_rms": R.to_list(out["attn_rms"]),
                    "mlp_rms": R.to_list(out["mlp_rms"]),
                })
    R.save_safetensors(os.path.join(out_dir, "features.safetensors"), features)
    golden = {
        "config": R.config_json(cfg),
        "convert_config": ODD_CONVERT_CONFIG if name == "odd" else None,
        "seed": SEEDS[name],
        "params": R.count_params(model),
        "torch": torch.__version__,
        "torchaudio": torchaudio.__version__,
        "cases": cases,
    }
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
    return golden


def write_all(root: str) -> None:
    torch.set_num_threads(1)  # one thread: the same float32 sums on every machine
    tests, refs = make_clips()
    os.makedirs(root, exist_ok=True)
    R.save_safetensors(os.path.join(root, "clips.safetensors"), {**tests, **refs})
    for name in CONFIGS:
        g = build_fixture(name, os.path.join(root, name), tests, refs)
        ps = [c["p_bonafide"] for c in g["cases"]]
        print(f"{name}: {g['params']} parameters, P(bona fide) from {min(ps):.4f} to {max(ps):.4f}")


def compare(committed: str, fresh: str) -> List[str]:
    """Differences between two fixture trees: tensors must match exactly, goldens within 1e-6."""
    problems: List[str] = []
    for name in CONFIGS:
        a = torch.load(os.path.join(committed, name, "checkpoint.pt"))
        b = torch.load(os.path.join(fresh, name, "checkpoint.pt"))
        if a.keys() != b.keys():
            problems.append(f"{name}: checkpoint keys differ")
        else:
            for k in a:
                if not torch.equal(a[k], b[k]):
                    problems.append(f"{name}: checkpoint tensor {k} differs")
        ga = json.load(open(os.path.join(committed, name, "golden.json")))
        gb = json.load(open(os.path.join(fresh, name, "golden.json")))
        for ca, cb in zip(ga["cases"], gb["cases"]):
            for key in ("p_bonafide", "logits", "embedding", "attn_rms", "mlp_rms"):
                va = torch.tensor(ca[key], dtype=torch.float64).reshape(-1)
                vb = torch.tensor(cb[key], dtype=torch.float64).reshape(-1)
                if not torch.allclose(va, vb, rtol=1e-6, atol=1e-7):
                    problems.append(f"{name}/{ca['clip']}/{ca['ref_mode']}: {key} differs by {float((va - vb).abs().max()):.3g}")
    for f in ("clips.safetensors",):
        if open(os.path.join(committed, f), "rb").read() != open(os.path.join(fresh, f), "rb").read():
            problems.append(f"{f} differs")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures"))
    ap.add_argument("--check", action="store_true", help="regenerate in a temp dir and compare with --out")
    args = ap.parse_args()
    if not args.check:
        write_all(args.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        write_all(tmp)
        problems = compare(args.out, tmp)
    if problems:
        print("Fixtures do not match a fresh PyTorch run:\n  " + "\n  ".join(problems[:40]))
        print("Regenerate them with: /usr/bin/python3 scripts/reference/make_fixtures.py")
        return 1
    print("fixtures: committed files match a fresh PyTorch run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
