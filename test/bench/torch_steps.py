#!/usr/bin/python3
"""PyTorch reference of the step kinds of test/bench/steps.bench.ts (stepKinds.ts).

The same networks and shapes as ssl-kd's step code, in float32 or under
``torch.autocast("cpu", torch.bfloat16)``:

- ``dino``: DINO multi-crop step (Caron et al. 2021, Alg. 1): teacher forward on
  the 2 global views, student forward/backward on global + local views, DINO
  head (3-layer MLP, BatchNorm after the hidden layers with ``--dino-head-bn 1``,
  bottleneck, weight-normalised last layer, K = ``--dino-out-dim``), centred and
  sharpened cross-entropy, per-parameter gradient clip 3, AdamW, centre and
  EMA updates (plugins/stages/teachers/dino/step.ts).
- ``mae``: MAE step (He et al. 2022) with 75 % masking: encoder on the visible
  patches, decoder (``--decoder-dim/-depth/-heads``, default 128, 2, 4) on all, normalised-pixel MSE
  on the masked patches, AdamW (plugins/stages/teachers/mae/step.ts).
- ``student``: the student alone, cross-entropy, AdamW (batch ``--student-batch``).
- ``joint``: eq. 4 of the paper: student + a CL and a MIM teacher trained in
  Partial-1 (last block, final norm, head), CE of each, output KD (l1 0.5, T 1)
  and attention KD of the last block's maps (student head 1 vs MIM head 0),
  one backward, one AdamW per model (plugins/stages/paper/distillStep.ts; batch ``--student-batch``).

Default shapes: the ``repro`` preset, as test/bench/stepKinds.ts ``defaultShapes``.
- ``vitb-forward``: ViT-B/16 at 224 px, 1000 classes, inference.
- ``peak``: a 2048^3 matmul, f32 or bf16.

Prints the kernel/thread setup (torch.__config__, the OpenBLAS core) to
stderr with ``--show-config``, and one JSON line on stdout:

    /usr/bin/python3 test/bench/torch_steps.py --kind dino [--bf16] [--seconds 3] [--threads N] [--batch 128] ...
"""
import argparse
import ctypes
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    """timm pre-norm block; `forward` returns (x, attention maps)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor):
        b, n, d = x.shape
        dh = d // self.heads
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, dh).permute(2, 0, 3, 1, 4).unbind(0)
        attn = ((q * dh**-0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x)))), attn


class ViT(nn.Module):
    """timm ViT: conv patch embedding, class token, learned positions (bicubic-resampled for other sizes), blocks, norm, head."""

    def __init__(self, img: int, patch: int, dim: int, depth: int, heads: int, classes: int) -> None:
        super().__init__()
        self.grid = img // patch
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, self.grid**2 + 1, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes) if classes > 0 else nn.Identity()

    def pos(self, grid: int) -> torch.Tensor:
        if grid == self.grid:
            return self.pos_embed
        d = self.pos_embed.shape[-1]
        p = self.pos_embed[:, 1:].reshape(1, self.grid, self.grid, d).permute(0, 3, 1, 2)
        p = F.interpolate(p, size=(grid, grid), mode="bicubic", align_corners=False).permute(0, 2, 3, 1).reshape(1, grid * grid, d)
        return torch.cat([self.pos_embed[:, :1], p], 1)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(images)
        x = x.flatten(2).transpose(1, 2) + self.pos(x.shape[-1])[:, 1:]
        return x

    def features(self, images: torch.Tensor, keep_attn_of: int = -1):
        x = self.embed(images)
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], 1)
        kept = None
        for i, blk in enumerate(self.blocks):
            x, attn = blk(x)
            if i == keep_attn_of:
                kept = attn
        return self.norm(x), kept

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images)[0][:, 0])


class DinoHead(nn.Module):
    """DINOHead: Linear-GELU-Linear-GELU-Linear to the bottleneck, l2-normalise, weight-normalised last layer (g fixed at 1)."""

    def __init__(self, dim: int, out: int, hidden: int, bottleneck: int, bn: bool) -> None:
        super().__init__()
        norm = (lambda: nn.BatchNorm1d(hidden)) if bn else nn.Identity
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), norm(), nn.GELU(), nn.Linear(hidden, hidden), norm(), nn.GELU(), nn.Linear(hidden, bottleneck))
        self.v = nn.Parameter(torch.empty(out, bottleneck).uniform_(-bottleneck**-0.5, bottleneck**-0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(F.normalize(self.mlp(x), dim=-1), self.v / self.v.norm(dim=1, keepdim=True))


def dino_step(a, bf16: bool):
    """One DINO multi-crop step; returns a closure."""
    student, teacher = ViT(a.img, a.patch, a.teacher_width, a.teacher_depth, a.teacher_heads, 0), ViT(a.img, a.patch, a.teacher_width, a.teacher_depth, a.teacher_heads, 0)
    head = lambda: DinoHead(a.teacher_width, a.dino_out_dim, a.dino_hidden_dim, a.dino_bottleneck_dim, a.dino_head_bn != 0)
    s_head, t_head = head(), head()
    teacher.load_state_dict(student.state_dict())
    t_head.load_state_dict(s_head.state_dict())
    for p in [*teacher.parameters(), *t_head.parameters()]:
        p.requires_grad_(False)
    params = [*student.parameters(), *s_head.parameters()]
    opt = torch.optim.AdamW(params, lr=5e-4, weight_decay=0.04)
    center = torch.zeros(1, a.dino_out_dim)
    globals_ = torch.rand(2 * a.batch, 3, a.img, a.img)
    locals_ = torch.rand(a.local_crops * a.batch, 3, a.local_size, a.local_size)
    views = 2 + a.local_crops

    def step() -> None:
        nonlocal center
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            with torch.no_grad():
                t_out = t_head(teacher.features(globals_)[0][:, 0]).float()
            s_out = s_head(torch.cat([student.features(globals_)[0][:, 0], student.features(locals_)[0][:, 0]])).float()
        log_p = F.log_softmax(s_out / 0.1, -1).chunk(views)
        q = F.softmax((t_out - center) / 0.04, -1).detach().chunk(2)
        loss, terms = 0.0, 0
        for iq, qi in enumerate(q):
            for v in range(views):
                if v != iq:
                    loss = loss + torch.sum(-qi * log_p[v], -1).mean()
                    terms += 1
        loss = loss / terms
        loss.backward()
        for p in params:
            if p.grad is not None:
                n = p.grad.norm()
                if n > 3:
                    p.grad.mul_(3 / (n + 1e-6))
        opt.step()
        with torch.no_grad():
            center = center * 0.9 + t_out.mean(0, keepdim=True) * 0.1
            for ps, pt in zip(params, [*teacher.parameters(), *t_head.parameters()]):
                pt.mul_(0.996).add_(ps.detach(), alpha=0.004)
        loss.item()

    return step


def mae_step(a, bf16: bool):
    """One MAE step with `mask_ratio` masking; returns a closure."""
    enc = ViT(a.img, a.patch, a.teacher_width, a.teacher_depth, a.teacher_heads, 0)
    dec_dim, l = a.decoder_dim, (a.img // a.patch) ** 2
    dec_embed, dec_pred = nn.Linear(a.teacher_width, dec_dim), nn.Linear(dec_dim, a.patch * a.patch * 3)
    mask_token, dec_pos = nn.Parameter(torch.zeros(1, 1, dec_dim)), nn.Parameter(torch.randn(1, l + 1, dec_dim) * 0.02)
    dec_blocks, dec_norm = nn.ModuleList([Block(dec_dim, a.decoder_heads) for _ in range(a.decoder_depth)]), nn.LayerNorm(dec_dim, eps=1e-6)
    params = [*enc.parameters(), *dec_embed.parameters(), *dec_pred.parameters(), mask_token, dec_pos, *dec_blocks.parameters(), *dec_norm.parameters()]
    opt = torch.optim.AdamW(params, lr=1.5e-4, betas=(0.9, 0.95), weight_decay=0.05)
    images = torch.rand(a.batch, 3, a.img, a.img)
    keep_n = l - round(l * a.mask_ratio)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        ids_shuffle = torch.argsort(torch.rand(a.batch, l), 1)
        ids_restore, ids_keep = torch.argsort(ids_shuffle, 1), ids_shuffle[:, :keep_n]
        mask = torch.ones(a.batch, l)
        mask[:, :keep_n] = 0
        mask = torch.gather(mask, 1, ids_restore)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            x = enc.embed(images)
            x = torch.gather(x, 1, ids_keep.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
            x = torch.cat([(enc.cls_token + enc.pos_embed[:, :1]).expand(a.batch, -1, -1), x], 1)
            for blk in enc.blocks:
                x = blk(x)[0]
            y = dec_embed(enc.norm(x))
            toks = torch.cat([y[:, 1:], mask_token.to(y.dtype).expand(a.batch, l - keep_n, -1)], 1)
            toks = torch.gather(toks, 1, ids_restore.unsqueeze(-1).expand(-1, -1, dec_dim))
            y = torch.cat([y[:, :1], toks], 1) + dec_pos
            for blk in dec_blocks:
                y = blk(y)[0]
            pred = dec_pred(dec_norm(y))[:, 1:].float()
        p = a.patch
        target = images.reshape(a.batch, 3, a.img // p, p, a.img // p, p).permute(0, 2, 4, 3, 5, 1).reshape(a.batch, l, p * p * 3)
        mean, var = target.mean(-1, keepdim=True), target.var(-1, keepdim=True)
        target = (target - mean) / (var + 1e-6) ** 0.5
        loss = (((pred - target) ** 2).mean(-1) * mask).sum() / mask.sum()
        loss.backward()
        opt.step()
        loss.item()

    return step


def joint_step(a, bf16: bool, teachers: bool):
    """The student alone (CE) or eq. 4 with two Partial-1 teachers; returns a closure."""
    student = ViT(a.img, a.patch, a.student_width, a.student_depth, a.student_heads, a.classes)
    models = [student]
    groups = [list(student.parameters())]
    if teachers:
        for _ in range(2):
            t = ViT(a.img, a.patch, a.teacher_width, a.teacher_depth, a.teacher_heads, a.classes)
            trainable = [*t.blocks[-1].parameters(), *t.norm.parameters(), *t.head.parameters()]
            for p in t.parameters():
                p.requires_grad_(False)
            for p in trainable:
                p.requires_grad_(True)
            models.append(t)
            groups.append(trainable)
    opts = [torch.optim.AdamW(g, lr=1e-4, weight_decay=0.05) for g in groups]
    images = torch.rand(a.student_batch, 3, a.img, a.img)
    labels = torch.arange(a.student_batch) % a.classes

    def kl(p_log, q_log):
        return (p_log.exp() * (p_log - q_log)).sum(-1)

    def step() -> None:
        for o in opts:
            o.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            outs = []
            for m in models:
                f, attn = m.features(images, keep_attn_of=len(m.blocks) - 1 if teachers else -1)
                outs.append((m.head(f[:, 0]).float(), attn))
        loss = sum(F.cross_entropy(logits, labels) for logits, _ in outs)
        if teachers:
            s_log = F.log_softmax(outs[0][0], -1)
            kd = 0.5 * kl(F.log_softmax(outs[1][0].detach(), -1), s_log).mean() + 0.5 * kl(F.log_softmax(outs[2][0].detach(), -1), s_log).mean()
            s_attn, t_attn = outs[0][1][:, 1].float(), outs[2][1][:, 0].detach().float()
            att = (t_attn * ((t_attn + 1e-12).log() - (s_attn + 1e-12).log())).sum(-1).mean()
            loss = loss + kd + att
        loss.backward()
        for o in opts:
            o.step()
        loss.item()

    return step


def vitb_forward(a, bf16: bool):
    model = ViT(224, 16, 768, 12, 12, 1000).eval()
    images = torch.rand(a.vitb_batch, 3, 224, 224)

    def step() -> None:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            model(images).float().sum().item()

    return step


def peak(bf16: bool):
    dt = torch.bfloat16 if bf16 else torch.float32
    x, y = torch.randn(2048, 2048, dtype=dt), torch.randn(2048, 2048, dtype=dt)
    return lambda: torch.mm(x, y)


def openblas_core() -> str:
    """The OpenBLAS core and config of the library this process loaded (from /proc/self/maps), or why not known."""
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "openblas" in line.lower() or "libblas" in line.lower()})
        for path in libs:
            lib = ctypes.CDLL(path)
            if hasattr(lib, "openblas_get_corename"):
                lib.openblas_get_corename.restype = ctypes.c_char_p
                lib.openblas_get_config.restype = ctypes.c_char_p
                return f"{path}: core {lib.openblas_get_corename().decode()}, {lib.openblas_get_config().decode()}, {lib.openblas_get_num_threads()} threads"
        return f"no OpenBLAS loaded (BLAS libraries mapped: {libs or 'none'})"
    except OSError as e:
        return f"unknown ({e})"


def measure(step, seconds: float):
    step()
    steps, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds or steps < 2:
        step()
        steps += 1
    return steps, (time.perf_counter() - start) / steps, (time.process_time() - cpu) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", required=True, choices=["dino", "mae", "student", "joint", "vitb-forward", "peak"])
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: the machine's cores)")
    ap.add_argument("--show-config", action="store_true")
    for name, default in [("batch", 128), ("img", 28), ("patch", 4), ("teacher-width", 160), ("teacher-depth", 6), ("teacher-heads", 5),
                          ("student-width", 60), ("student-depth", 6), ("student-heads", 3), ("student-batch", 64), ("classes", 10),
                          ("local-crops", 6), ("local-size", 12), ("dino-out-dim", 4096), ("dino-hidden-dim", 1024), ("dino-bottleneck-dim", 256),
                          ("dino-head-bn", 1), ("decoder-dim", 128), ("decoder-depth", 2), ("decoder-heads", 4), ("vitb-batch", 8)]:
        ap.add_argument(f"--{name}", type=int, default=default)
    ap.add_argument("--mask-ratio", type=float, default=0.75)
    a = ap.parse_args()
    torch.set_num_threads(a.threads if a.threads > 0 else (os.cpu_count() or 1))
    torch.manual_seed(0)
    if a.show_config:
        print(torch.__config__.show(), torch.__config__.parallel_info(), f"OpenBLAS: {openblas_core()}", sep="\n", file=sys.stderr)
    images = {"dino": a.batch, "mae": a.batch, "student": a.student_batch, "joint": a.student_batch, "vitb-forward": a.vitb_batch, "peak": 1}[a.kind]
    step = (peak(a.bf16) if a.kind == "peak" else dino_step(a, a.bf16) if a.kind == "dino" else mae_step(a, a.bf16) if a.kind == "mae"
            else vitb_forward(a, a.bf16) if a.kind == "vitb-forward" else joint_step(a, a.bf16, a.kind == "joint"))
    flops = None
    if a.kind != "peak":
        # The profiler's FLOP estimate (matmul, addmm, bmm, conv: 2·m·n·k) over one step, to check stepKinds.ts's analytic count.
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], with_flops=True) as prof:
            step()
        flops = sum(e.flops or 0 for e in prof.key_averages())
    steps, sec, cpu_sec = measure(step, a.seconds)
    out = {"kind": a.kind, "precision": "bf16" if a.bf16 else "f32", "torch": torch.__version__, "threads": torch.get_num_threads(),
           "openblas": openblas_core(), "steps": steps, "msPerStep": round(sec * 1000, 2), "cpuMsPerStep": round(cpu_sec * 1000, 2), "imgPerSec": round(images / sec, 2),
           "peakRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if a.kind == "peak":
        out["gflops"] = round(2 * 2048**3 / sec / 1e9, 1)
    else:
        out["torchFlopsPerStep"] = flops
    print(json.dumps(out))


if __name__ == "__main__":
    main()
