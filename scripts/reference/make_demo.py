"""The demo checkpoint: a small, seeded, UNTRAINED RAT-shaped model so the app and CLI run out of the box.

    /usr/bin/python3 scripts/reference/make_demo.py <out.pt>

Its scores mean nothing. scripts/make-demo.ts converts it into public/weights/demo/.
"""

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rat_reference as R  # noqa: E402

DEMO = R.RatConfig(
    conv=[(128, 10, 5)] + [(128, 3, 2)] * 4 + [(128, 2, 2)] * 2,  # XLS-R's strides: 20 ms frames
    embed_dim=128, num_layers=4, num_heads=16, ffn_dim=512,
    pos_conv_kernel=32, pos_conv_groups=16, rib_heads=4,
)
SEED = 4242
ALSA = "/usr/share/sounds/alsa"


def main() -> int:
    torch.set_num_threads(1)
    model = R.build(DEMO, SEED)
    calib = [R.load_wave(f"{ALSA}/{f}.wav") for f in ("Front_Center", "Front_Left", "Rear_Right", "Side_Left", "Noise")]
    R.calibrate_batchnorm(model, calib, SEED)
    torch.save(model.state_dict(), sys.argv[1])
    print(f"demo checkpoint: {R.count_params(model)} parameters -> {sys.argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
