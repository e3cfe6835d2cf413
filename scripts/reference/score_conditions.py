"""Scores a test clip under given reference waveforms with the PyTorch reference model.

The truth for tests/unit/conditions.test.ts: the TypeScript code generates the reference-condition
waveforms (seeded noise, truncation, silence) and writes them as raw little-endian float32 files
with a manifest; this script scores each one and prints, as JSON, P(bona fide) and the per-layer
RMS of the attention and MLP branches.

  /usr/bin/python3 scripts/reference/score_conditions.py <checkpoint.pt> <golden.json> <manifest.json>

manifest.json: {"test": "test.f32", "conditions": [{"id": "zero", "ref": null}, {"id": "noise", "ref": "noise.f32"}, ...]}
(paths relative to the manifest). golden.json supplies the model sizes (its "config" object).
"""

from __future__ import annotations

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rat_reference as R  # noqa: E402


def read_f32(path: str) -> torch.Tensor:
    with open(path, "rb") as f:
        data = bytearray(f.read())
    return torch.frombuffer(data, dtype=torch.float32).clone().unsqueeze(0)  # [1, N]


def main() -> int:
    checkpoint, golden_path, manifest_path = sys.argv[1:4]
    torch.set_num_threads(1)
    with open(golden_path) as f:
        cfg_json = json.load(f)["config"]
    cfg_json["conv"] = [tuple(c) for c in cfg_json["conv"]]
    model = R.RAT(R.RatConfig(**cfg_json))
    # weights_only: plain tensors and containers, nothing from the pickle is executed
    model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    model.eval()
    base = os.path.dirname(os.path.abspath(manifest_path))
    with open(manifest_path) as f:
        manifest = json.load(f)
    test = read_f32(os.path.join(base, manifest["test"]))
    out = []
    with torch.no_grad():
        for c in manifest["conditions"]:
            ref = read_f32(os.path.join(base, c["ref"])) if c["ref"] else None
            r = model.forward_detailed(test, ref)
            out.append({
                "id": c["id"],
                "p_bonafide": float(r["p_bonafide"]),
                "attn_rms": R.to_list(r["attn_rms"]),
                "mlp_rms": R.to_list(r["mlp_rms"]),
            })
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
