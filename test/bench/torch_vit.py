#!/usr/bin/python3
"""PyTorch reference for the ViT-Ti train-step benchmark (test/bench/speed.bench.ts).

The same network as ssl-kd's `vitTinyPatch4_28` (timm's VisionTransformer:
28 px RGB images, 4 px patches -> 49 + 1 class token = 50 tokens, width 192,
12 pre-norm blocks, 3 heads, MLP ratio 4, exact GELU, LayerNorm eps 1e-6,
10 classes), trained a step at a time (forward, cross-entropy, backward,
AdamW update) on a batch of 32 random images, in float32 and under
``torch.autocast("cpu", torch.bfloat16)``. Prints one JSON object:

    /usr/bin/python3 test/bench/torch_vit.py [--batch 32] [--seconds 3] [--threads N]
"""
import argparse
import json
import os
import time

import torch
from torch import nn


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm1(x)); x + mlp(norm2(x))."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        dh = d // self.heads
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, dh).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = ((q * dh**-0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(self.act(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    """timm-style ViT: conv patch embedding, class token, learned positions, blocks, norm, linear head."""

    def __init__(self, img: int = 28, patch: int = 4, chans: int = 3, dim: int = 192, depth: int = 12,
                 heads: int = 3, classes: int = 10) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(chans, dim, patch, patch)
        tokens = (img // patch) ** 2 + 1
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


def measure(step, seconds: float, batch: int) -> float:
    """Images per second of `step` after two warm-up calls, over at least `seconds` and 2 steps."""
    step()
    step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or steps < 2:
        step()
        steps += 1
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: the machine's cores, as the native backend)")
    args = ap.parse_args()
    # PyTorch's own default here is 1 thread on 2 cores; the native backend uses every core.
    torch.set_num_threads(args.threads if args.threads > 0 else (os.cpu_count() or 1))
    torch.manual_seed(0)
    model = ViT()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    images = torch.randn(args.batch, 3, 28, 28)
    labels = torch.randint(0, 10, (args.batch,))
    loss_fn = nn.CrossEntropyLoss()

    def train(bf16: bool):
        def step() -> None:
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(model(images), labels)
            loss.backward()
            opt.step()
        return step

    def forward() -> None:
        with torch.no_grad():
            model(images)

    from torch_steps import openblas_core  # noqa: PLC0415 (beside this file)

    out = {
        "torchVersion": torch.__version__,
        "setup": f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, "
                 f"{torch.__config__.parallel_info().splitlines()[-1].strip()}; OpenBLAS {openblas_core()}",
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "fp32TrainImgPerSec": round(measure(train(False), args.seconds, args.batch), 1),
        "bf16TrainImgPerSec": round(measure(train(True), args.seconds, args.batch), 1),
        "fp32ForwardImgPerSec": round(measure(forward, args.seconds, args.batch), 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
