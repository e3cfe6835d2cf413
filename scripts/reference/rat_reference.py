"""PyTorch reference for the RAT detector: the truth every TypeScript number is checked against.

Builds the model exactly as the published code does (torchaudio's wav2vec2_model as the XLS-R
frontend, the RAT reference-informed block and classifier) with a seeded random initialisation,
saves it with the published checkpoint key layout, and runs the forward pass of ../shared/rat-spec.md
with hooks that expose the intermediate values the parity tests compare.

Run with /usr/bin/python3 (Debian's python3-torch 1.13 and python3-torchaudio 0.13).
"""

from __future__ import annotations

import json
import os
import math
import struct
from dataclasses import dataclass, field, asdict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchaudio

XLSR_CONV = [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2


@dataclass
class RatConfig:
    """Sizes of one RAT model; the defaults are the published XLS-R 300M / RAT values."""

    conv: List[Tuple[int, int, int]] = field(default_factory=lambda: list(XLSR_CONV))
    embed_dim: int = 1024
    num_layers: int = 24
    num_heads: int = 16
    ffn_dim: int = 4096
    pos_conv_kernel: int = 128
    pos_conv_groups: int = 16
    rib_heads: int = 4


class Extractor(nn.Module):
    """Holds the wav2vec2 model at `extractor.model.model`, the path the published keys use."""

    def __init__(self, w2v: nn.Module):
        super().__init__()
        self.model = nn.Module()
        self.model.model = w2v

    def extract_features(self, wave: torch.Tensor) -> torch.Tensor:
        """[B, N] waveform -> [L, B, T, D] layer outputs, after whole-clip normalisation."""
        wave = F.layer_norm(wave, wave.shape)
        feats, _ = self.model.model.extract_features(wave)
        return torch.stack(feats, dim=0)


class RAT(nn.Module):
    """The RAT module with the published parameter names (attn, preattn_ln, attn_mlp, final_ln, classifier)."""

    def __init__(self, cfg: RatConfig):
        super().__init__()
        d = cfg.embed_dim
        w2v = torchaudio.models.wav2vec2_model(
            extractor_mode="layer_norm",
            extractor_conv_layer_config=[tuple(c) for c in cfg.conv],
            extractor_conv_bias=True,
            encoder_embed_dim=d,
            encoder_projection_dropout=0.0,
            encoder_pos_conv_kernel=cfg.pos_conv_kernel,
            encoder_pos_conv_groups=cfg.pos_conv_groups,
            encoder_num_layers=cfg.num_layers,
            encoder_num_heads=cfg.num_heads,
            encoder_attention_dropout=0.0,
            encoder_ff_interm_features=cfg.ffn_dim,
            encoder_ff_interm_dropout=0.0,
            encoder_dropout=0.0,
            encoder_layer_norm_first=True,
            encoder_layer_drop=0.0,
            aux_num_out=None,
        )
        self.extractor = Extractor(w2v)
        self.attn = nn.MultiheadAttention(embed_dim=d, num_heads=cfg.rib_heads)
        self.preattn_ln = nn.LayerNorm(d)
        self.attn_mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.ReLU(), nn.Linear(4 * d, d))
        self.final_ln = nn.LayerNorm(d)
        self.classifier = nn.Sequential(
            nn.Linear(d, d // 2),
            nn.BatchNorm1d(d // 2),
            nn.ReLU(),
            nn.Linear(d // 2, d // 4),
            nn.BatchNorm1d(d // 4),
            nn.ReLU(),
            nn.Linear(d // 4, 2),
        )

    def rib(self, test: torch.Tensor, ref: Optional[torch.Tensor]):
        """Reference-informed block on [L, B, T, D] features; ref None means the zero vector.

        Returns the block output [L, B, T, D] and the attention and MLP branches (for diagnostics).
        """
        layers, batches, t_test, d = test.shape
        stacked_test = test.reshape(layers * batches, t_test, d).transpose(0, 1)
        norm_test = self.preattn_ln(stacked_test)
        if ref is None:
            norm_ref = torch.zeros_like(norm_test)
        else:
            t_ref = ref.shape[2]
            norm_ref = self.preattn_ln(ref.reshape(layers * batches, t_ref, d).transpose(0, 1))
        attn_out, _ = self.attn(norm_test, norm_ref, norm_ref)
        mlp_out = self.attn_mlp(norm_test)
        out = self.final_ln(stacked_test + attn_out + mlp_out)
        back = lambda x: x.transpose(0, 1).reshape(layers, batches, t_test, d)
        return back(out), back(attn_out), back(mlp_out)

    def forward_detailed(self, test_wave: torch.Tensor, ref_wave: Optional[torch.Tensor]):
        """One clip (batch 1). ref_wave None = zero-vector reference."""
        feats = self.extractor.extract_features(test_wave)  # [L, 1, T, D]
        ref_feats = None if ref_wave is None else self.extractor.extract_features(ref_wave)
        z, attn_out, mlp_out = self.rib(feats, ref_feats)
        emb = z.mean(dim=(0, 2))  # [1, D]: mean over layers and time
        logits = self.classifier(emb)
        prob = F.softmax(logits, dim=1)
        rms = lambda x: x.pow(2).mean(dim=(1, 2, 3)).sqrt()  # per layer
        return {
            "features": feats[:, 0],
            "embedding": emb[0],
            "logits": logits[0],
            "p_bonafide": prob[0, 0],
            "attn_rms": rms(attn_out),
            "mlp_rms": rms(mlp_out),
        }


def randomise(model: RAT, seed: int) -> None:
    """Make every parameter non-trivial, so a swapped or dropped weight cannot go unnoticed.

    Default inits leave LayerNorm at 1/0 and attention biases at 0, which would hide a converter
    that drops them; BatchNorm running statistics are set later by `calibrate_batchnorm`.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("layer_norm" in name or name.endswith("_ln.weight") or name.endswith("_ln.bias")):
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("in_proj_bias") or name.endswith("out_proj.bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("weight_g"):
                p.mul_(0.5 + torch.rand(p.shape, generator=g))


def calibrate_batchnorm(model: RAT, waves: Sequence[torch.Tensor], seed: int) -> None:
    """Seeded running statistics near those of real inputs, so scores are neither saturated nor constant.

    The variance floor keeps the classifier well conditioned: dividing by the tiny spread of an
    untrained model's embeddings would amplify float32 rounding far past the parity tolerances.
    """
    g = torch.Generator().manual_seed(seed + 1)
    model.eval()
    with torch.no_grad():
        embs = torch.stack([model.forward_detailed(w, None)["embedding"] for w in waves])
        h = embs
        for lin, bn in ((model.classifier[0], model.classifier[1]), (model.classifier[3], model.classifier[4])):
            h = lin(h)
            mean = h.mean(0)
            var = h.var(0, unbiased=False) + h.pow(2).mean() * 0.25
            bn.running_mean.copy_(mean + 0.1 * var.sqrt() * torch.randn(mean.shape, generator=g))
            bn.running_var.copy_(var * (0.5 + torch.rand(var.shape, generator=g)))
            bn.weight.copy_(1.0 + 0.2 * torch.randn(bn.weight.shape, generator=g))
            bn.bias.copy_(0.2 * torch.randn(bn.bias.shape, generator=g))
            bn.num_batches_tracked.fill_(1000)
            h = F.relu(bn(h))


def build(cfg: RatConfig, seed: int) -> RAT:
    torch.manual_seed(seed)
    model = RAT(cfg)
    randomise(model, seed)
    model.eval()
    return model


def bench_config() -> RatConfig:
    """The benchmark's model: XLS-R 300M, or with RAT_BENCH_SIZE=small a narrow 4-layer one (dry runs of the GPU kit)."""
    if os.environ.get("RAT_BENCH_SIZE", "full") == "small":
        return RatConfig(conv=[(64, 10, 5)] + [(64, 3, 2)] * 4 + [(64, 2, 2)] * 2, embed_dim=256, num_layers=4, ffn_dim=1024, pos_conv_kernel=32)
    return RatConfig()


def alsa_wave(name: str) -> torch.Tensor:
    """ALSA's sample /usr/share/sounds/alsa/<name>.wav at 16 kHz, [1, N]; with RAT_WAVES, the same
    waveform from that safetensors file (for machines without ALSA's sounds or an audio backend)."""
    waves = os.environ.get("RAT_WAVES")
    if waves:
        return load_safetensors(waves)[name].reshape(1, -1)
    return load_wave(f"/usr/share/sounds/alsa/{name}.wav")


def load_wave(path: str, sample_rate: int = 16000) -> torch.Tensor:
    """Mono float waveform at 16 kHz, [1, N]; mono mixdown is the channel mean, as the app does."""
    wave, sr = torchaudio.load(path)
    wave = wave.mean(dim=0, keepdim=True)
    if sr != sample_rate:
        wave = torchaudio.functional.resample(wave, sr, sample_rate)
    return wave


# --- safetensors, written by hand (the package is not on Debian) -----------------------------------

_ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64", torch.bfloat16: "BF16"}


def save_safetensors(path: str, tensors: Dict[str, torch.Tensor], metadata: Optional[Dict[str, str]] = None) -> None:
    header: Dict[str, object] = {}
    blobs: List[bytes] = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def load_safetensors(path: str) -> Dict[str, torch.Tensor]:
    """Float32 tensors of a safetensors file (our own files: the waveforms this module writes)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        if h["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {h['dtype']}, expected F32")
        a, b = h["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(h["shape"])
    return out


def to_list(t: torch.Tensor) -> List[float]:
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def config_json(cfg: RatConfig) -> dict:
    d = asdict(cfg)
    d["conv"] = [list(c) for c in cfg.conv]
    return d


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def frames_for(num_samples: int, conv: Sequence[Tuple[int, int, int]]) -> int:
    n = num_samples
    for _, k, s in conv:
        n = math.floor((n - k) / s) + 1
    return n
