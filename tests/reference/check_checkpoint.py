"""Loads a checkpoint the C++ engine wrote into the PyTorch twin, by timm's tensor names, and
checks the twin's logits on a probe batch equal the engine's.

    /usr/bin/python3 tests/reference/check_checkpoint.py CHECKPOINT PROBE

CHECKPOINT: engine checkpoint (safetensors; the trial config is in __metadata__["config"]).
PROBE: safetensors with input.images [B,C,H,W] and output.logits [B,K] from the engine.
Exit status 0 when they agree, 1 when they do not, 77 (skipped) without torch.
"""

import json
import os
import sys

try:
    import numpy as np
    import torch
except ImportError:
    print("skipped: torch is not importable")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
import vit_twin  # noqa: E402


def main():
    checkpoint, probe = sys.argv[1], sys.argv[2]
    tensors, metadata = safetensors_io.load(checkpoint)
    cfg = json.loads(metadata["config"])
    # The twin names what it needs; an extra or missing tensor means the layouts disagree.
    expected = set(vit_twin.param_shapes(cfg))
    if set(tensors) != expected:
        print(f"tensor names differ: only in checkpoint {sorted(set(tensors) - expected)}, "
              f"only in twin {sorted(expected - set(tensors))}")
        return 1
    for name, shape in vit_twin.param_shapes(cfg).items():
        if tuple(tensors[name].shape) != tuple(shape):
            print(f"{name}: checkpoint shape {tensors[name].shape}, twin expects {shape}")
            return 1
    params = {k: torch.from_numpy(v).double() for k, v in tensors.items()}
    probe_tensors, _ = safetensors_io.load(probe)
    images = torch.from_numpy(probe_tensors["input.images"]).double()
    want = probe_tensors["output.logits"].astype(np.float64)
    with torch.no_grad():
        got = vit_twin.forward(params, cfg, images).numpy()
    error = np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-12)
    print(f"max relative logit difference {error:.2e}")
    return 0 if error < 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
