"""Every model timm registers, built on the meta device with random (no) weights, where timm imports.

timm is optional: ``import timm`` needs torchvision, and a torchvision build that does not match the
installed torch (a CUDA wheel beside a CPU-only torch) makes the import fail. Then timm's models are
left out of the census, and the census says so and why.
"""

from __future__ import annotations

import time

from .activations import module_evidence
from .building import finish_record, one_line, quiet, time_limit


def availability() -> tuple[str | None, str | None]:
    """(timm's version, None) when ``import timm`` works, else (None, why not in one line)."""
    try:
        with quiet():
            import timm
    except Exception as exc:  # ImportError, or torchvision's own operators failing to load
        return None, f"import timm failed: {one_line(exc)}"
    return timm.__version__, None


def model_names() -> list[str]:
    import timm

    return list(timm.list_models())


def census_one(name: str) -> dict:
    """The census record of one timm model: its class, parameters and activation modules."""
    import timm
    import torch

    start = time.perf_counter()
    record: dict = {"source": "timm", "model_type": name, "config_class": None, "model_class": None,
                    "parameters": None, "error": None, "fields": [], "sub_configs": {}, "field_modality": "vision",
                    "modality": "vision", "modality_from": "timm: image models", "part_of": [], "tasks": []}
    evidence = None
    with quiet():
        try:
            with time_limit(), torch.device("meta"):
                model = timm.create_model(name, pretrained=False)
            record["model_class"] = type(model).__name__
            record["parameters"] = int(sum(p.numel() for p in model.parameters()))
            evidence = module_evidence(model)
            del model
        except Exception as exc:  # one model that does not build must not stop the census
            record["error"] = "build: " + one_line(exc)
    return finish_record(record, evidence, [], start)
