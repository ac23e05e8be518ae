"""The same LoRA training step as tests/bench/suites/train-lora.ts, in PyTorch on the CPU, for a speed comparison.

A Llama-shaped decoder with SmolLM2-135M's shape by default (30 layers, hidden 576, 9/3 heads, MLP 1536,
vocab 49152, tied embeddings), random frozen weights, LoRA (r 8, alpha 16) on the chosen projections; one
step = forward, causal-LM cross-entropy over every position, backward, AdamW on the LoRA tensors. Attention
is computed as eager masked softmax over the full T×T scores, as the tfjs runtime does.

    /usr/bin/python3 tests/bench/torch_lora_step.py --targets q_proj,v_proj --threads 2 [--layers 30 --batch 4 --seq 256]

Prints one JSON object: step time (median of the timed steps), tokens/s, and a plain matmul's GFLOP/s on the
same threads ([batch·seq, hidden]·[hidden, mlp]).
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class LoRALinear(nn.Module):
    """y = x·Wᵀ + s·(x·Aᵀ)·Bᵀ with W frozen; A [r, in] kaiming-uniform(a=√5), B [out, r] = 0, as PEFT."""

    def __init__(self, din, dout, r, alpha, adapted):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(dout, din) * 0.02, requires_grad=False)
        self.adapted = adapted
        if adapted:
            self.a = nn.Parameter(torch.empty(r, din))
            nn.init.kaiming_uniform_(self.a, a=math.sqrt(5))
            self.b = nn.Parameter(torch.zeros(dout, r))
            self.scaling = alpha / r

    def forward(self, x):
        y = F.linear(x, self.weight)
        if self.adapted:
            y = y + F.linear(F.linear(x, self.a), self.b) * self.scaling
        return y


class RMSNorm(nn.Module):
    def __init__(self, h, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(h), requires_grad=False)
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(t, hd, theta):
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    freqs = torch.outer(torch.arange(t, dtype=torch.float32), inv)
    emb = torch.cat([freqs, freqs], -1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x.chunk(2, -1)
    return torch.cat([-x2, x1], -1)


class Layer(nn.Module):
    def __init__(self, c, targets, r, alpha):
        super().__init__()
        h, nh, nkv, hd, i = c["hidden"], c["heads"], c["kv_heads"], c["head_dim"], c["mlp"]
        lin = lambda name, din, dout: LoRALinear(din, dout, r, alpha, name in targets)
        self.c = c
        self.input_norm = RMSNorm(h)
        self.q_proj = lin("q_proj", h, nh * hd)
        self.k_proj = lin("k_proj", h, nkv * hd)
        self.v_proj = lin("v_proj", h, nkv * hd)
        self.o_proj = lin("o_proj", nh * hd, h)
        self.post_norm = RMSNorm(h)
        self.gate_proj = lin("gate_proj", h, i)
        self.up_proj = lin("up_proj", h, i)
        self.down_proj = lin("down_proj", i, h)

    def forward(self, x, cos, sin, mask):
        c = self.c
        b, t, _ = x.shape
        nh, nkv, hd = c["heads"], c["kv_heads"], c["head_dim"]
        h = self.input_norm(x)
        q = self.q_proj(h).view(b, t, nh, hd).transpose(1, 2)
        k = self.k_proj(h).view(b, t, nkv, hd).transpose(1, 2)
        v = self.v_proj(h).view(b, t, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask
        attn = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, nh * hd)
        x = x + self.o_proj(attn)
        h2 = self.post_norm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h2)) * self.up_proj(h2))


class Model(nn.Module):
    def __init__(self, c, targets, r, alpha):
        super().__init__()
        self.c = c
        self.embed = nn.Parameter(torch.randn(c["vocab"], c["hidden"]) * 0.02, requires_grad=False)
        self.layers = nn.ModuleList(Layer(c, targets, r, alpha) for _ in range(c["layers"]))
        self.norm = RMSNorm(c["hidden"])

    def forward(self, ids, labels):
        b, t = ids.shape
        x = F.embedding(ids, self.embed)
        cos, sin = rope_tables(t, self.c["head_dim"], self.c["rope_theta"])
        mask = torch.full((t, t), float("-inf")).triu(1)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        logits = F.linear(self.norm(x), self.embed)  # tied head
        return F.cross_entropy(logits[:, :-1].reshape(-1, self.c["vocab"]), labels[:, 1:].reshape(-1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--layers", type=int, default=30)
    p.add_argument("--vocab", type=int, default=49152)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=int, default=16)
    p.add_argument("--targets", default="q_proj,v_proj")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    targets = set(PROJECTIONS if a.targets == "all" else a.targets.split(","))
    c = dict(layers=a.layers, vocab=a.vocab, hidden=576, heads=9, kv_heads=3, head_dim=64, mlp=1536, rope_theta=100000.0)
    model = Model(c, targets, a.rank, a.alpha)
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-4)
    ids = (torch.arange(a.batch * a.seq) * 7919 + 13).remainder(a.vocab).view(a.batch, a.seq)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(ids, ids)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    mid = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2

    x = torch.randn(a.batch * a.seq, 576)
    w = torch.randn(576, 1536)
    x @ w
    reps = 10
    t0 = time.perf_counter()
    for _ in range(reps):
        x @ w
    mm = (time.perf_counter() - t0) / reps
    config = torch.__config__.show()
    blas = next((part.split("=", 1)[1] for part in config.replace(",", " ").split() if part.startswith("BLAS_INFO=")), "unknown")
    print(json.dumps({
        "torch": torch.__version__,
        "blas": blas,
        "threads": torch.get_num_threads(),
        "stepSeconds": mid,
        "tokensPerSec": a.batch * a.seq / mid,
        "matmulGflops": 2 * a.batch * a.seq * 576 * 1536 / mm / 1e9,
        "trainable": sum(q.numel() for q in params),
    }))


if __name__ == "__main__":
    main()
