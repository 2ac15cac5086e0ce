from __future__ import annotations

import math

import pytest
import torch

from gelulab.experiments.model import GPT, GPTConfig


def test_gated_ffn_has_exactly_the_plain_ffn_parameter_count_when_d_ff_divisible_by_3():
    counts = {}
    for act in ("relu", "gelu", "geglu", "swiglu", "reglu"):
        model = GPT(GPTConfig(vocab_size=50, n_layer=2, n_embd=32, d_ff=96, activation=act))
        counts[act] = (model.num_params(), model.ffn_params())
    # plain FFN: two d x d_ff matrices per layer, no biases (as in Shazeer 2020)
    assert counts["relu"][1] == 2 * 2 * 32 * 96
    assert len(set(counts.values())) == 1


def test_gated_ffn_width_is_two_thirds_and_its_first_projection_twice_that():
    model = GPT(GPTConfig(vocab_size=20, n_layer=1, n_embd=16, d_ff=48, activation="geglu"))
    ffn = model.blocks[0].ffn
    assert ffn.w_out.in_features == 32
    assert ffn.w_in.out_features == 64


def test_model_is_causal_future_tokens_do_not_change_past_logits():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=30, block_size=12, n_layer=2, n_embd=16, n_head=2, d_ff=48,
                          activation="gelu")).eval()
    idx = torch.randint(0, 30, (1, 12))
    changed = idx.clone()
    changed[0, 7:] = (changed[0, 7:] + 1) % 30
    a, _ = model(idx)
    b, _ = model(changed)
    assert torch.equal(a[0, :7], b[0, :7])
    assert not torch.allclose(a[0, 7:], b[0, 7:])


def test_untrained_loss_is_near_uniform_cross_entropy():
    torch.manual_seed(1)
    model = GPT(GPTConfig(vocab_size=64, block_size=16, n_layer=1, n_embd=32, d_ff=96, activation="relu"))
    idx, targets = torch.randint(0, 64, (8, 16)), torch.randint(0, 64, (8, 16))
    with torch.no_grad():
        _, loss = model(idx, targets)
    assert abs(float(loss) - math.log(64)) < 0.1


def test_unknown_activation_and_overlong_sequence_are_refused():
    from gelulab.functions import UnknownActivationError

    with pytest.raises(UnknownActivationError):
        GPT(GPTConfig(vocab_size=10, activation="gleu"))
    model = GPT(GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_embd=8, n_head=2, d_ff=24))
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(1, 5, dtype=torch.long))
