"""numba building blocks of the CPU kernels: compile options and the few LLVM intrinsics numba lacks.

* ``OPTS``: the options every kernel compiles with (cached, contraction into FMAs, NumPy's error
  model, no GIL);
* ``select``: a branch-free ``cond ? a : b`` (a branch in an element function can stop LLVM from
  vectorising the loop that inlines it);
* ``wide_vectors``: 512-bit vectors for the loop of the calling function;
* ``pointer`` and ``fetch_add``: typed pointers from addresses and an atomic add, for the C-callable
  workers that torch's OpenMP team runs (:mod:`.runtime`).
"""

from __future__ import annotations

import contextlib

from numba import types
from numba.extending import intrinsic

from . import cache

cache.guard()  # before any kernel of this package loads from numba's cache

OPTS = {"cache": True, "fastmath": {"contract"}, "error_model": "numpy", "nogil": True}


@intrinsic
def select(typingctx, cond, a, b):
    """cond ? a : b as one LLVM ``select``. A Python conditional becomes a branch, and enough
    branches in an element function stop LLVM from vectorising the loop that inlines it."""
    if not isinstance(cond, types.Boolean) or a != b:
        return None

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])

    return a(cond, a, b), codegen


#: The widest vectors the loops may use, in bits. LLVM's tuning for Intel server cores (Skylake-X
#: to Emerald Rapids) prefers 256-bit vectors to spare the clock; these loops are long chains of
#: float64 multiply-adds, which run ~1.5x faster per element in 512-bit vectors (measured on an
#: Emerald Rapids: GELU forward 1.78 -> 1.21 ns, GELU-tanh 2.87 -> 1.70 ns, one thread). Without
#: AVX-512 the attribute changes nothing.
VECTOR_BITS = 512


@intrinsic
def wide_vectors(typingctx):
    """Let the loops of the calling function use VECTOR_BITS-wide vectors (an LLVM function
    attribute; call it at the top of every function that holds an element loop)."""

    def codegen(context, builder, signature, args):
        # llvmlite's attribute set admits only keyword attributes; this one is a string attribute.
        # Should a later llvmlite store attributes otherwise, the loops keep LLVM's default width.
        with contextlib.suppress(TypeError, AttributeError):
            set.add(builder.function.attributes, f'"prefer-vector-width"="{VECTOR_BITS}"')
        return context.get_dummy_value()

    return types.none(), codegen


@intrinsic
def pointer(typingctx, address, target):
    """An int64 address (or a void*) as a typed pointer; target is the element type's class or an
    array's dtype."""
    if isinstance(target, types.NumberClass):
        dtype = target.instance_type
    elif isinstance(target, types.DType):
        dtype = target.dtype
    else:
        return None

    def codegen(context, builder, signature, args):
        ty = context.get_value_type(signature.return_type)
        if isinstance(signature.args[0], types.Integer):
            return builder.inttoptr(args[0], ty)
        return builder.bitcast(args[0], ty)

    return types.CPointer(dtype)(address, target), codegen


@intrinsic
def fetch_add(typingctx, pointer, value):
    """Atomically *pointer += value, returning the old value."""
    if not isinstance(pointer, types.CPointer) or pointer.dtype != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.atomic_rmw("add", args[0], args[1], "monotonic")

    return types.int64(pointer, types.int64), codegen
