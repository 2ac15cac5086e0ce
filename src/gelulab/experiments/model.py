"""A small decoder-only transformer (nanoGPT-style) whose FFN activation is a parameter.

    x -> token + position embedding -> n_layer x [x + attn(ln(x)); x + ffn(ln(x))] -> ln -> logits

The FFN is ``W_out · act(W_in · x)`` with W_in: d_model -> d_ff. For a gated unit (GEGLU, SwiGLU,
ReGLU) W_in maps d_model -> 2·d_ff' and the unit returns act(a)·b, so the FFN has 3·d_model·d_ff'
weights instead of 2·d_model·d_ff; with d_ff' = 2/3·d_ff the parameter counts match (Shazeer 2020,
"GLU Variants Improve Transformer", §2). Projections carry no bias, as in that paper, so the match is
exact whenever d_ff is divisible by 3.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .activations import activation_module, canonical_activation, is_gated


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int
    block_size: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    d_ff: int = 192  # width of the plain FFN; gated FFNs use round(2/3 · d_ff)
    activation: str = "gelu"
    impl: str = "torch"  # "torch": PyTorch's own op where it matches the registry; "gelulab": custom ops
    dropout: float = 0.0

    def ffn_width(self) -> int:
        """Hidden width actually used: d_ff, or round(2·d_ff/3) for a gated unit (equal parameters)."""
        return round(2 * self.d_ff / 3) if is_gated(self.activation) else self.d_ff

    def to_dict(self) -> dict:
        return asdict(self)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        if cfg.n_embd % cfg.n_head:
            raise ValueError(f"n_embd={cfg.n_embd} is not divisible by n_head={cfg.n_head}")
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))


class FeedForward(nn.Module):
    """W_out · act(W_in · x); W_in is twice as wide for a gated unit, which halves it again."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        hidden = cfg.ffn_width()
        gated = is_gated(cfg.activation)
        self.w_in = nn.Linear(cfg.n_embd, (2 if gated else 1) * hidden, bias=False)
        self.act = activation_module(cfg.activation, cfg.impl)
        self.w_out = nn.Linear(hidden, cfg.n_embd, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w_out(self.act(self.w_in(x)))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.ffn = FeedForward(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.ffn(self.ln2(x))


class GPT(nn.Module):
    """Decoder-only transformer; ``forward(idx, targets)`` returns (logits, mean cross-entropy in nats)."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        canonical_activation(cfg.activation)  # unknown names fail here, before any allocation
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.pos = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.head.weight = self.tok.weight  # weight tying, as in GPT-2 / nanoGPT
        self.blocks.apply(self._init_weights)
        nn.init.normal_(self.tok.weight, mean=0.0, std=0.02)  # also the (tied) output head
        nn.init.normal_(self.pos.weight, mean=0.0, std=0.02)
        # residual-branch outputs scaled down by sqrt(2 · n_layer), as GPT-2 does
        for name, p in self.named_parameters():
            if name.endswith(("proj.weight", "w_out.weight")):
                p.data.mul_(1.0 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        # Linear: N(0, 1/fan_in) (LeCun normal, T5's scaling), so the FFN's pre-activations have unit scale
        # at any width. GPT-2's fixed std 0.02 is ~1/sqrt(d) only for d in the thousands; on a 64-wide
        # model it puts every pre-activation near 0, where GELU and SiLU are almost linear (slope 1/2)
        # while ReLU, being scale-free, is not: that would favour ReLU for reasons of init alone.
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=module.in_features ** -0.5)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def num_params(self, trainable_only: bool = True) -> int:
        """Parameter count (tied weights counted once)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def ffn_params(self) -> int:
        return sum(p.numel() for b in self.blocks for p in b.ffn.parameters())

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        length = idx.shape[1]
        if length > self.cfg.block_size:
            raise ValueError(f"sequence length {length} exceeds block_size {self.cfg.block_size}")
        x = self.tok(idx) + self.pos(torch.arange(length, device=idx.device))
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x))
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss
