"""Which registry activation a configuration value names, and which ones a built model contains.

A configuration value (``"gelu_new"``, ``"gated-gelu"``, ``"swish"``) is mapped the way the model
library itself maps it: transformers' ``ACT2FN`` gives the module the value stands for, and
``gelulab.torch.swap.recognise`` says which registry entry that module computes. Only where
transformers has no such name does the registry's own alias table (``gelulab.functions.resolve``)
decide. A built model is read with ``swap_activations``: every activation module (and module
attribute holding a torch functional) it finds is one instance of its registry entry, whatever the
configuration field says; ``F.gelu(x)`` written inside a ``forward`` is counted apart.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ..functions import UnknownActivationError, names, resolve
from ..functions.parametric import ParameterError

#: The configuration fields that name a model's activation, as transformers' configs spell them.
ACTIVATION_FIELDS = ("hidden_act", "activation_function", "hidden_activation", "feed_forward_proj")

#: T5-style values name a gated feed-forward block: "gated-gelu" is GEGLU, "gated-silu" SwiGLU.
_GATED_PREFIX = re.compile(r"^gated[-_]")

# A feed-forward block is gated when, beside the activation, it holds a gate projection: LLaMA's
# gate_proj, Phi-3's and the fused experts' gate_up_proj, T5's wi_0/wi_1 pair, the SwiGLU paper's w1/w3.
_GATE_NAME = re.compile(r"gate")
_GATE_PAIRS = (("wi_0", "wi_1"), ("w1", "w3"))


def base_name(name: str) -> str:
    """The registry entry of a possibly parameterised name: ``leaky_relu(negative_slope=0.2)`` -> ``leaky_relu``."""
    return name.split("(", 1)[0]


def gelu_forms() -> list[str]:
    """The registry entries that compute GELU exactly or approximately (erf, tanh and sigmoid forms)."""
    return [n for n in names() if "gelu" in n]


@dataclass(frozen=True)
class FieldValue:
    """One activation field of a config: where it sits, what it says, and what that computes."""

    path: str  # "hidden_act", or "text_config.hidden_act" inside a sub-config
    value: str
    activation: str | None  # registry name, None when the value is no registry activation
    gated: bool
    note: str | None = None  # why it maps to nothing

    def as_dict(self) -> dict:
        return {"path": self.path, "value": self.value, "activation": self.activation, "gated": self.gated,
                "note": self.note}


def map_value(value: object) -> tuple[str | None, bool, str | None]:
    """(registry name or None, gated, why not) for one configuration value."""
    if not isinstance(value, str):
        return None, False, f"not a name: {type(value).__name__}"
    text = value.strip()
    gated = bool(_GATED_PREFIX.match(text.lower()))
    if gated:
        text = _GATED_PREFIX.sub("", text.lower())
    module = _transformers_module(text)
    if module is not None:
        from ..torch.swap import recognise

        name, why = recognise(module)
        if name is not None:
            return base_name(name), gated, None
        return None, gated, why or f"{type(module).__name__} is not an activation"
    try:
        return base_name(resolve(text)), gated, None
    except (UnknownActivationError, ParameterError):
        return None, gated, f"{text!r} is neither a transformers activation nor a registry name"


def _transformers_module(text: str):
    try:
        from transformers.activations import ACT2FN
    except ImportError:
        return None
    try:
        return ACT2FN[text]
    except (KeyError, TypeError, ValueError):
        return None


def config_fields(config, prefix: str = "", depth: int = 0) -> list[FieldValue]:
    """Every activation field of ``config`` and of the sub-configs it holds (``vision_config``...), depth first."""
    from transformers import PretrainedConfig

    found = []
    attrs = vars(config)
    for name in ACTIVATION_FIELDS:
        if name in attrs and attrs[name] is not None:
            activation, gated, note = map_value(attrs[name])
            value = attrs[name] if isinstance(attrs[name], str) else repr(attrs[name])
            found.append(FieldValue(prefix + name, value, activation, gated, note))
    if depth < 3:
        for name, value in sorted(attrs.items()):
            if isinstance(value, PretrainedConfig):
                found += config_fields(value, f"{prefix}{name}.", depth + 1)
    return found


def sub_configs(config) -> dict[str, str]:
    """Attribute name -> model type of each sub-config ``config`` holds."""
    from transformers import PretrainedConfig

    return {name: getattr(value, "model_type", "") or type(value).__name__
            for name, value in sorted(vars(config).items()) if isinstance(value, PretrainedConfig)}


@dataclass
class ModuleEvidence:
    """What ``swap_activations`` found inside a built model."""

    counts: Counter = field(default_factory=Counter)  # registry name -> instances
    gated: Counter = field(default_factory=Counter)  # registry name -> instances inside a gated block
    unregistered: Counter = field(default_factory=Counter)  # Tanh, Sigmoid, ClippedGELU ... -> instances
    functional: Counter = field(default_factory=Counter)  # F.gelu(...) written in a forward -> classes

    def as_dict(self) -> dict:
        return {"modules": dict(self.counts.most_common()), "gated_modules": dict(self.gated.most_common()),
                "unregistered_modules": dict(self.unregistered.most_common()),
                "functional_calls": dict(self.functional.most_common())}


def module_evidence(model) -> ModuleEvidence:
    """Count the activations inside ``model`` (which is modified: its activations are replaced)."""
    from ..torch.swap import swap_activations

    # the gate names are read before the swap, which replaces only the activations themselves
    blocks = {path: _is_gated_block(module) for path, module in model.named_modules()}
    report = swap_activations(model)
    evidence = ModuleEvidence()
    for s in report.swapped:
        name = base_name(s.activation)
        evidence.counts[name] += 1
        if blocks.get(s.path.rpartition(".")[0], False):
            evidence.gated[name] += 1
    for n in report.not_swapped:
        evidence.unregistered[n.what] += 1
    for call in report.functional_calls:
        name = _called_activation(call.reason)
        if name is not None:
            evidence.functional[name] += 1
    return evidence


def _is_gated_block(module) -> bool:
    own = [n for n, _ in module.named_children()] + [n for n, _ in module.named_parameters(recurse=False)]
    if any(_GATE_NAME.search(n) for n in own):
        return True
    return any(a in own and b in own for a, b in _GATE_PAIRS)


def _called_activation(line: str) -> str | None:
    """The registry entry called in a line of source such as ``x = nn.functional.gelu(x)``."""
    for ident in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", line):
        try:
            return base_name(resolve(ident.rstrip("_")))
        except (UnknownActivationError, ParameterError):
            continue
    return None


def primary_activation(evidence: ModuleEvidence | None, fields: list[FieldValue]) -> tuple[str | None, str]:
    """The model's activation and what says so.

    The built model decides when it has activation modules: the entry with the most instances (a
    multimodal model's language tower outnumbers its vision tower). Ties go to the entry the
    top-level config field names. Without modules, functional calls decide, then the config fields
    (top level first, then sub-configs, the most frequent value).
    """
    top = [f.activation for f in fields if "." not in f.path and f.activation]
    if evidence is not None:
        for counts, source in ((evidence.counts, "modules"), (evidence.functional, "functional calls")):
            if counts:
                best = max(counts.values())
                tied = sorted(n for n, c in counts.items() if c == best)
                chosen = next((n for n in top if n in tied), tied[0])
                return chosen, source
    if top:
        return top[0], "config field"
    nested = Counter(f.activation for f in fields if f.activation)
    if nested:
        best = max(nested.values())
        chosen = next(f.activation for f in fields if f.activation and nested[f.activation] == best)
        return chosen, "sub-config field"
    return None, "none found"


def gated_flag(activation: str | None, evidence: ModuleEvidence | None, fields: list[FieldValue],
               source: str) -> bool | None:
    """Whether the model's activation sits in gated blocks (GEGLU, SwiGLU...); None when nothing tells.

    From modules: at least half of the activation's instances are in a block with a gate projection.
    From config fields: a ``gated-`` value says gated; only ``feed_forward_proj`` (T5's choice between
    the two forms) says "not gated" by its absence, since LLaMA's plain ``hidden_act="silu"`` is gated.
    """
    if activation is None:
        return None
    if source == "modules" and evidence is not None:
        return 2 * evidence.gated[activation] >= evidence.counts[activation]
    named = [f for f in fields if f.activation == activation]
    if any(f.gated for f in named):
        return True
    return False if any(f.path.endswith("feed_forward_proj") for f in named) else None
