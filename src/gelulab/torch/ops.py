"""The custom operators, registered with ``torch.library`` under the ``gelulab`` namespace.

For every registry activation ``NAME``:

* ``gelulab::NAME(Tensor x) -> Tensor``: f(x), correctly rounded in x's dtype;
* ``gelulab::NAME_backward(Tensor grad, Tensor x, int order) -> Tensor``: grad * f^(order)(x),
  formed in float64 and rounded once; ``order`` 1 is the backward of ``NAME``, ``order`` 2 the
  backward of the backward (so gradgradcheck works);
* ``gelulab::NAME_out(Tensor x, Tensor(a!) out) -> ()``: f(x) written into a preallocated tensor.

And for all of them, with the activation's registry name as a string argument:

* ``gelulab::gated(Tensor x, str activation)``: x = [a | b] split along the last dim, f(a) * b;
* ``gelulab::gated_backward(Tensor grad, Tensor x, str activation)``: [grad*b*f'(a) | grad*f(a)];
* ``gelulab::bias_act(Tensor x, Tensor bias, str activation)``: f(x + bias), bias along the last dim.

Each op has a fake implementation (shapes only) so ``torch.compile`` traces it without a graph
break, and an autograd formula built from the ops themselves. Backward saves only the inputs
(never f(x) or other intermediates): the derivative is recomputed from x, which is cheaper than
a second tensor of memory traffic on a memory-bound op and keeps peak memory at the input's.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..functions import get, names, resolve
from ..kernels import cpu
from ..kernels.cpu.memory import MIN_BYTES
from .tensors import as_numpy, check_tensor, empty_like_contiguous, new_output

NAMESPACE = "gelulab"
MAX_ORDER = 2  # the registry carries f, f' and f''


def direct(x: Tensor, autograd: bool = False) -> bool:
    """Whether a call on x may run its kernel without the dispatcher, because the op would record
    and redirect nothing: a plain CPU tensor, no gradient to record (with ``autograd``: or one that
    plain autograd records, see :class:`DirectActivation`), and no trace (torch.compile,
    torch.jit.trace), torch-function or dispatch mode (FakeTensor, FlopCounter), functorch transform or
    profiler that should see the op. The dispatcher and the autograd wrapper of a custom op cost ~7 us
    a call, more than the kernel on a few thousand elements; everything else takes the op."""
    return (type(x) is Tensor and x.is_cpu and (autograd or not (x.requires_grad and torch.is_grad_enabled()))
            and not torch.compiler.is_compiling() and not torch._C._get_tracing_state()
            and not torch._C._is_torch_function_mode_enabled() and not torch._C._len_torch_dispatch_stack()
            and not torch.autograd.profiler._is_profiler_enabled
            and not torch._C._functorch.is_functorch_wrapped_tensor(x))


def _run_into(kernel: Callable, like: Tensor, shape: tuple[int, ...], *arrays) -> Tensor:
    """Run ``kernel(*arrays, out=view)`` writing straight into a new tensor's memory."""
    out = new_output(like, shape)
    kernel(*arrays, out=as_numpy(out))
    return out


_LIBRARY = torch.library.Library(NAMESPACE, "FRAGMENT")


def _define(schema: str, kernel: Callable) -> Callable:
    """Define ``gelulab::<schema>`` with ``kernel`` for every device without a kernel of its own.

    torch.library.Library rather than torch.library.custom_op: the same operator (schema, kernel,
    fake kernel and autograd formula registered beside it), ~4 us less dispatch per call.
    """
    name = schema.split("(", 1)[0]
    _LIBRARY.define(schema)
    _LIBRARY.impl(name, kernel, "CompositeExplicitAutograd")
    return getattr(getattr(torch.ops, NAMESPACE), name).default


# --- elementwise activations -----------------------------------------------------------------

def _dense_order(x: Tensor) -> tuple[int, ...] | None:
    """For a dense, non-overlapping x that is not contiguous (channels_last, a transpose): the order of
    dims in which it is contiguous; None otherwise."""
    if x.dim() < 2 or x.is_contiguous() or x.numel() == 0:
        return None
    order = tuple(sorted(range(x.dim()), key=lambda d: -x.stride(d)))
    return order if x.permute(order).is_contiguous() else None


def _like_layout(x: Tensor, order: tuple[int, ...], kernel: Callable, *inputs: Tensor) -> Tensor:
    """Run an elementwise kernel with x's memory layout kept, as torch's own ops do: the output is
    ``empty_like(x)`` (x's strides) and every array is passed in the order where x is contiguous."""
    out = torch.empty_like(x)
    kernel(*(as_numpy(t.permute(order)) for t in inputs), out=as_numpy(out.permute(order)))
    return out


def _forward(name: str, x: Tensor) -> Tensor:
    check_tensor(x, name)
    if x.dtype is torch.float32 and x.is_contiguous() and 0 < x.numel() * 4 < MIN_BYTES:
        # small: the kernel allocates its NumPy output and torch adopts it (0.9 us against 1.4 us for
        # torch.empty_like plus a NumPy view of it); large outputs come from the pool or huge pages
        xn = x.detach().numpy() if x.requires_grad else x.numpy()
        return torch.from_numpy(cpu.small_forward(name, xn))
    layout = _dense_order(x)
    if layout is not None:
        return _like_layout(x, layout, lambda a, out: cpu.forward(name, a, out), x)
    return _run_into(lambda a, out: cpu.forward(name, a, out), x, tuple(x.shape), as_numpy(x))


def _backward(name: str, grad: Tensor, x: Tensor, order: int) -> Tensor:
    check_tensor(x, f"{name} backward")
    if not 1 <= order <= MAX_ORDER:
        raise NotImplementedError(f"gelulab: {name}: derivative of order {order} is not available "
                                  f"(the registry has orders 1 and {MAX_ORDER})")
    g = grad.to(x.dtype) if grad.dtype != x.dtype else grad
    if g.shape != x.shape:
        g = g.expand(x.shape)
    if order == 1 and x.dtype is torch.float32 and 0 < x.numel() * 4 < MIN_BYTES and x.is_contiguous() \
            and g.is_contiguous():  # small: as in _forward, the kernel's own output array
        return torch.from_numpy(cpu.small_derivative_times(name, as_numpy(g), as_numpy(x)))
    layout = _dense_order(x)
    if layout is not None:
        return _like_layout(x, layout, lambda gg, xx, out: cpu.derivative_times(name, gg, xx, order, out), g, x)
    return _run_into(lambda gg, xx, out: cpu.derivative_times(name, gg, xx, order, out), x, tuple(x.shape),
                     as_numpy(g), as_numpy(x))


def _forward_out(name: str, x: Tensor, out: Tensor) -> None:
    check_tensor(x, f"{name}(out=)")
    if out.shape != x.shape or out.dtype != x.dtype:
        raise ValueError(f"gelulab: {name}: out must have the input's shape {tuple(x.shape)} and dtype {x.dtype}, "
                         f"got {tuple(out.shape)} {out.dtype}")
    if out.is_contiguous() and out.dim() > 0:
        cpu.forward(name, as_numpy(x), as_numpy(out))
    else:
        out.copy_(_forward(name, x))


def _like_x(x: Tensor) -> Tensor:
    """The fake output of an elementwise op: x's layout where x is dense, else contiguous."""
    return torch.empty_like(x) if _dense_order(x) is not None else empty_like_contiguous(x)


def _register_autograd(fwd_op: Callable, bwd_op: Callable) -> None:
    """The backward of f is ``bwd(grad, x, 1)``, the backward of that ``bwd(., x, order + 1)``: the ops
    themselves, so double backward works. Arguments after x (a parameterised op's name) pass through."""

    def fwd_setup(ctx, inputs, output) -> None:
        ctx.extra = inputs[1:]
        ctx.save_for_backward(inputs[0])

    def fwd_grad(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return (bwd_op(grad, x, *ctx.extra, 1), *(None for _ in ctx.extra))

    def bwd_setup(ctx, inputs, output) -> None:
        grad, x, *extra, order = inputs
        ctx.extra, ctx.order = tuple(extra), order
        ctx.save_for_backward(grad, x)

    def bwd_grad(ctx, gg: Tensor):
        grad, x = ctx.saved_tensors
        d_grad = bwd_op(gg, x, *ctx.extra, ctx.order) if ctx.needs_input_grad[0] else None
        d_x = bwd_op(gg * grad, x, *ctx.extra, ctx.order + 1) if ctx.needs_input_grad[1] else None
        return (d_grad, d_x, *(None for _ in ctx.extra), None)

    torch.library.register_autograd(fwd_op, fwd_grad, setup_context=fwd_setup)
    torch.library.register_autograd(bwd_op, bwd_grad, setup_context=bwd_setup)


def _define_activation(name: str) -> tuple[Callable, Callable, Callable]:
    fwd_op = _define(f"{name}(Tensor x) -> Tensor", lambda x: _forward(name, x))
    bwd_op = _define(f"{name}_backward(Tensor grad, Tensor x, int order) -> Tensor",
                     lambda grad, x, order: _backward(name, grad, x, order))
    out_op = _define(f"{name}_out(Tensor x, Tensor(a!) out) -> ()", lambda x, out: _forward_out(name, x, out))

    # outputs keep a dense input's layout (channels_last stays channels_last), as empty_like gives it
    torch.library.register_fake(fwd_op)(lambda x: _like_x(x))
    torch.library.register_fake(bwd_op)(lambda grad, x, order: _like_x(x))
    torch.library.register_fake(out_op)(lambda x, out: None)
    _register_autograd(fwd_op, bwd_op)
    return fwd_op, bwd_op, out_op


ACTIVATION_OPS: dict[str, tuple[Callable, Callable, Callable]] = {n: _define_activation(n) for n in names()}


# Parameterised activations (``leaky_relu(negative_slope=0.2)``, see gelulab.functions.parametric): one
# op each for f, grad * f^(order) and f into out=, the canonical name as an argument. They run the exact
# path (the NumPy kernels and the rounding decision) on the CPU. Reading the name checks its values.
parametric = _define("parametric(Tensor x, str activation) -> Tensor",
                     lambda x, activation: _forward(resolve(activation), x))
parametric_backward = _define("parametric_backward(Tensor grad, Tensor x, str activation, int order) -> Tensor",
                              lambda grad, x, activation, order: _backward(resolve(activation), grad, x, order))
parametric_out = _define("parametric_out(Tensor x, str activation, Tensor(a!) out) -> ()",
                         lambda x, activation, out: _forward_out(resolve(activation), x, out))
torch.library.register_fake(parametric)(lambda x, activation: _like_x(x))
torch.library.register_fake(parametric_backward)(lambda grad, x, activation, order: _like_x(x))
torch.library.register_fake(parametric_out)(lambda x, activation, out: None)
_register_autograd(parametric, parametric_backward)


def _ops_for(name: str) -> tuple[Callable, Callable, Callable]:
    """(forward, backward, out) ops of any activation name: its own ops, or the parameterised ones bound to it."""
    key = resolve(name)
    found = ACTIVATION_OPS.get(key)
    if found is not None:
        return found
    return (lambda x: parametric(x, key), lambda grad, x, order: parametric_backward(grad, x, key, order),
            lambda x, out: parametric_out(x, key, out))


def _by_name(x: Tensor, activation: str) -> Tensor:
    return _ops_for(activation)[0](x)


# One op for every activation, the name as an argument: what a TorchScript'ed module calls (a script
# cannot pick ``torch.ops.gelulab.<name>`` from a string). Composite: it runs the activation's own op,
# so autograd, the fake kernel and torch.compile are that op's.
_LIBRARY.define("activation(Tensor x, str activation) -> Tensor")
_LIBRARY.impl("activation", _by_name, "CompositeImplicitAutograd")
activation_by_name = torch.ops.gelulab.activation.default


def activation_op(name: str) -> Callable[[Tensor], Tensor]:
    """The forward custom op of an activation, by registry name, alias or parameterised name."""
    return _ops_for(name)[0]


def activation_backward_op(name: str) -> Callable[[Tensor, Tensor, int], Tensor]:
    return _ops_for(name)[1]


def activation_out_op(name: str) -> Callable[[Tensor, Tensor], None]:
    return _ops_for(name)[2]


class DirectActivation(torch.autograd.Function):
    """f(x) recorded by plain autograd, for an eager call on a tensor that requires grad and that
    nothing else must see (:func:`direct` with ``autograd``): the op's registered autograd runs in
    Python through the dispatcher twice per step (~30 us on 1,024 elements, 3x the kernels). The
    backward is the kernel's grad * f'(x); with ``create_graph`` it is the backward op, so double
    backward is the op's own."""

    @staticmethod
    def forward(ctx, x: Tensor, name: str) -> Tensor:
        ctx.name = name
        ctx.save_for_backward(x)
        return _forward(name, x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiable again, through the op
            return activation_backward_op(ctx.name)(grad, x, 1), None
        return _backward(ctx.name, grad, x, 1), None


# --- gated forms: f(a) * b -------------------------------------------------------------------

def _check_gated(x: Tensor, activation: str) -> str:
    check_tensor(x, "gated")
    if x.dim() == 0 or x.shape[-1] % 2:
        raise ValueError(f"gelulab: gated {activation}: the last dimension must be even (split into a|b), "
                         f"got shape {tuple(x.shape)}")
    return get(activation).name


def _half_shape(x: Tensor) -> tuple[int, ...]:
    return (*x.shape[:-1], x.shape[-1] // 2)


def _gated(x: Tensor, activation: str) -> Tensor:
    """f(a) * b with x = [a | b] halves of the last dim, rounded once."""
    name = _check_gated(x, activation)
    if x.numel() == 0:  # (3, 0) -> (3, 0), as F.glu gives; the kernels take no empty rows
        return x.new_empty(_half_shape(x))
    return _run_into(lambda a, out: cpu.gated_forward(name, a, out), x, _half_shape(x), as_numpy(x))


gated = _define("gated(Tensor x, str activation) -> Tensor", _gated)


@torch.library.register_fake(gated)
def _(x: Tensor, activation: str) -> Tensor:
    if x.dim() == 0 or x.shape[-1] % 2:
        raise ValueError(f"gelulab: gated {activation}: the last dimension must be even")
    return x.new_empty(_half_shape(x))


def _gated_backward(grad: Tensor, x: Tensor, activation: str) -> Tensor:
    """[grad * b * f'(a) | grad * f(a)], each rounded once."""
    name = _check_gated(x, activation)
    if x.numel() == 0:
        return empty_like_contiguous(x)
    g = grad.to(x.dtype) if grad.dtype != x.dtype else grad
    return _run_into(lambda gg, xx, out: cpu.gated_backward(name, gg, xx, out), x, tuple(x.shape),
                     as_numpy(g.expand(_half_shape(x))), as_numpy(x))


gated_backward = _define("gated_backward(Tensor grad, Tensor x, str activation) -> Tensor", _gated_backward)


@torch.library.register_fake(gated_backward)
def _(grad: Tensor, x: Tensor, activation: str) -> Tensor:
    return empty_like_contiguous(x)


def _gated_setup(ctx, inputs, output) -> None:
    x, activation = inputs
    ctx.activation = activation
    ctx.save_for_backward(x)


def _gated_grad(ctx, grad: Tensor):
    (x,) = ctx.saved_tensors
    return gated_backward(grad, x, ctx.activation), None


def _gated_backward_setup(ctx, inputs, output) -> None:
    grad, x, activation = inputs
    ctx.activation = activation
    ctx.save_for_backward(grad, x)


def _gated_backward_grad(ctx, gg: Tensor):
    # Outputs: ga = g b f'(a), gb = g f(a). With upstream (ua | ub):
    #   d/dg = ua b f'(a) + ub f(a);  d/da = ua g b f''(a) + ub g f'(a);  d/db = ua g f'(a).
    grad, x = ctx.saved_tensors
    name = get(ctx.activation).name
    fwd, bwd, _ = ACTIVATION_OPS[name]
    a, b = x.chunk(2, dim=-1)
    ua, ub = gg.chunk(2, dim=-1)
    d_grad = bwd(ua * b, a, 1) + ub * fwd(a) if ctx.needs_input_grad[0] else None
    d_x = None
    if ctx.needs_input_grad[1]:
        d_a = bwd(ua * grad * b, a, 2) + bwd(ub * grad, a, 1)
        d_b = bwd(ua * grad, a, 1)
        d_x = torch.cat([d_a, d_b], dim=-1)
    return d_grad, d_x, None


torch.library.register_autograd(gated, _gated_grad, setup_context=_gated_setup)
torch.library.register_autograd(gated_backward, _gated_backward_grad, setup_context=_gated_backward_setup)


# --- bias + activation -----------------------------------------------------------------------

def _check_bias(x: Tensor, bias: Tensor) -> None:
    check_tensor(x, "bias_act")
    if bias.dim() != 1 or x.dim() == 0 or bias.shape[0] != x.shape[-1] or bias.dtype != x.dtype:
        raise ValueError(f"gelulab: bias_act: bias must be 1-d of length x.shape[-1] with x's dtype; got x "
                         f"{tuple(x.shape)} {x.dtype}, bias {tuple(bias.shape)} {bias.dtype}")


def _bias_act(x: Tensor, bias: Tensor, activation: str) -> Tensor:
    """f(x + bias), the sum rounded in x's dtype (as ``x + bias`` would be), then f rounded once."""
    _check_bias(x, bias)
    return ACTIVATION_OPS[get(activation).name][0](x + bias)


bias_act = _define("bias_act(Tensor x, Tensor bias, str activation) -> Tensor", _bias_act)


@torch.library.register_fake(bias_act)
def _(x: Tensor, bias: Tensor, activation: str) -> Tensor:
    return empty_like_contiguous(x)


def _bias_setup(ctx, inputs, output) -> None:
    x, bias, activation = inputs
    ctx.activation = activation
    ctx.save_for_backward(x, bias)


def _bias_grad(ctx, grad: Tensor):
    x, bias = ctx.saved_tensors
    s = x + bias
    g = ACTIVATION_OPS[get(ctx.activation).name][1](grad, s, 1)
    d_bias = g.reshape(-1, g.shape[-1]).sum(0, dtype=torch.float64 if g.dtype == torch.float64 else torch.float32)
    return g, d_bias.to(bias.dtype), None


torch.library.register_autograd(bias_act, _bias_grad, setup_context=_bias_setup)


def all_ops() -> dict[str, Callable]:
    """Every custom op by qualified name (for opcheck and inventories)."""
    ops: dict[str, Callable] = {}
    for name, (fwd, bwd, out) in ACTIVATION_OPS.items():
        ops[f"{NAMESPACE}::{name}"] = fwd
        ops[f"{NAMESPACE}::{name}_backward"] = bwd
        ops[f"{NAMESPACE}::{name}_out"] = out
    ops[f"{NAMESPACE}::gated"] = gated
    ops[f"{NAMESPACE}::gated_backward"] = gated_backward
    ops[f"{NAMESPACE}::bias_act"] = bias_act
    return ops
