"""Scores audio files with a fixture checkpoint in PyTorch: the truth for the CLI's audio table test.

    /usr/bin/python3 scripts/reference/score_files.py --fixture tiny a.wav b.wav ...

One JSON object per file on stdout: {"file", "p_bonafide", "logits", "samples"}. Audio is read with
torchaudio, mixed down to the channel mean and resampled to 16 kHz with a long Kaiser-windowed sinc
(libsamplerate's best converter, which the app uses, keeps 97 % of the band: close, not bit-identical).
"""

import argparse
import json
import os
import sys

import torch
import torchaudio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rat_reference as R  # noqa: E402
from make_fixtures import CONFIGS, ROOT  # noqa: E402


def load(path: str) -> torch.Tensor:
    wave, sr = torchaudio.load(path)
    wave = wave.to(torch.float64).mean(dim=0, keepdim=True)
    if sr != 16000:
        wave = torchaudio.functional.resample(wave, sr, 16000, lowpass_filter_width=64, rolloff=0.97,
                                              resampling_method="kaiser_window", beta=14.769656459379492)
    return wave.to(torch.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixture", default="tiny", choices=sorted(CONFIGS))
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = R.RAT(CONFIGS[args.fixture])
    state = torch.load(os.path.join(ROOT, "tests", "fixtures", args.fixture, "checkpoint.pt"), map_location="cpu", weights_only=True)
    model.load_state_dict({k.replace("module.", "", 1): v for k, v in state.items()})
    model.eval()
    with torch.no_grad():
        for f in args.files:
            wave = load(f)
            out = model.forward_detailed(wave, None)
            print(json.dumps({"file": f, "p_bonafide": float(out["p_bonafide"]), "logits": R.to_list(out["logits"]), "samples": wave.shape[1]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
