import numpy as np
import pytest

import gelulab as gl
from gelulab.functions import UnknownActivationError, resolve

DESIGN_MEMBERS = ["gelu", "gelu_tanh", "quick_gelu", "relu", "relu6", "leaky_relu", "relu2", "elu", "selu",
                  "softplus", "silu", "mish", "hardswish"]


def test_registry_holds_every_member_named_in_the_design():
    assert set(DESIGN_MEMBERS) <= set(gl.names())


@pytest.mark.parametrize(
    ("alias", "name"),
    [("gelu_new", "gelu_tanh"), ("gelu_pytorch_tanh", "gelu_tanh"), ("gelu_fast", "gelu_tanh"),
     ("swish", "silu"), ("SiLU", "silu"), ("GELU", "gelu"), ("quick_gelu", "quick_gelu"), ("ReLU6", "relu6")],
)
def test_ecosystem_spellings_resolve_to_the_registered_name(alias, name):
    assert resolve(alias) == name
    assert gl.get(alias) is gl.get(name)


def test_no_alias_is_claimed_by_two_activations():
    seen = {}
    for n in gl.names():
        for key in (n, *gl.get(n).aliases):
            assert seen.setdefault(key.lower(), n) == n, f"{key} used by {seen[key.lower()]} and {n}"


def test_unknown_name_error_suggests_the_closest_name():
    with pytest.raises(UnknownActivationError) as info:
        gl.get("gleu")
    assert info.value.suggestion == "gelu"
    assert "gelu" in str(info.value)


@pytest.mark.parametrize(("mode", "name"), [("none", "gelu"), ("tanh", "gelu_tanh"), ("sigmoid", "quick_gelu")])
def test_gelu_approximate_selects_the_form(mode, name):
    x = np.linspace(-5, 5, 101)
    np.testing.assert_array_equal(gl.gelu(x, approximate=mode), gl.get(name)(x))


def test_gelu_rejects_an_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        gl.gelu(1.0, approximate="erf")


def test_approximations_differ_from_exact_gelu():
    x = np.linspace(-3, 3, 61)
    exact = gl.gelu(x)
    assert np.max(np.abs(gl.gelu(x, approximate="tanh") - exact)) > 1e-5
    assert np.max(np.abs(gl.gelu(x, approximate="sigmoid") - exact)) > 1e-3


@pytest.mark.parametrize("name", DESIGN_MEMBERS)
def test_every_spec_documents_itself(name):
    spec = gl.get(name)
    assert spec.latex and spec.summary and spec.domain_notes
    assert len(spec.kernels) == 3
    assert set(spec.limits) == {0, 1, 2}


def test_relu_and_silu_public_functions():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(gl.relu(x), np.maximum(x, 0))
    np.testing.assert_allclose(gl.silu(x), x / (1 + np.exp(-x)), rtol=1e-15)
