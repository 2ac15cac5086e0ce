"""Every model architecture transformers defines: its default config, built on the meta device.

Each config class registered in transformers' ``CONFIG_MAPPING`` is instantiated with its defaults
(no weights, no network: ``HF_HUB_OFFLINE=1``), its activation fields read (sub-configs followed),
and the model of that config built on the meta device, where a parameter costs no memory: the
parameter count is the default config's, and the activation modules found are the ones the model
really runs. A config whose model does not build (defaults that need a value, a library that is not
installed) keeps its config fields and the reason, in one line.

The modality comes from transformers' own auto mappings (the task heads it registers for the type:
causal LM, image classification, speech-to-text, image-text-to-text...), then, for a type with no
task head, from where it sits inside a composite model (``vision_config``) or from its own fields.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import time
from collections.abc import Iterable

from .activations import config_fields, module_evidence, sub_configs
from .building import finish_record, one_line, quiet, time_limit

MODALITIES = ("text", "vision", "audio", "multimodal", "other")

# Auto mappings by the words of their names, in order (the first that matches decides): these are
# transformers' task names (MODEL_FOR_<TASK>_MAPPING_NAMES), not a list of models.
_TASK_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("multimodal", ("IMAGE_TEXT", "MULTIMODAL", "VISUAL_QUESTION", "DOCUMENT_QUESTION", "ZERO_SHOT_IMAGE",
                    "ZERO_SHOT_OBJECT", "TEXT_RECOGNITION", "RETRIEVAL", "VISION_2_SEQ")),
    ("audio", ("AUDIO", "SPEECH", "CTC", "SPECTROGRAM", "WAVEFORM", "RNNT", "TDT")),
    ("other", ("TIME_SERIES", "DECISION")),
    ("vision", ("IMAGE", "VIDEO", "OBJECT_DETECTION", "SEGMENTATION", "DEPTH", "BACKBONE", "KEYPOINT",
                "MASK_GENERATION", "POSE", "NORMAL_ESTIMATION", "POINTMAP", "TABLE_RECOGNITION", "MATTING")),
    ("text", ("CAUSAL_LM", "MASKED_LM", "SEQ_TO_SEQ", "SEQUENCE_CLASSIFICATION", "TOKEN_CLASSIFICATION",
              "QUESTION_ANSWERING", "MULTIPLE_CHOICE", "NEXT_SENTENCE", "TEXT_ENCODING")),
)
# mappings that say nothing about modality: every type has a base model, many a pretraining head
_NO_MODALITY = ("MODEL_MAPPING_NAMES", "MODEL_FOR_PRETRAINING_MAPPING_NAMES", "CONFIG_MAPPING_NAMES")
# Words of a name (a sub-config's attribute, vision_config; a part's model type, sam_mask_decoder) that
# say its modality, then config fields that do (image_size). Whole words: "lm" in glm_image is not text.
_NAME_WORDS = (("vision", {"vision", "image", "visual", "video", "vq", "vqgan", "vqmodel", "backbone", "sam", "vit",
                           "hiera", "pixel"}),
               ("audio", {"audio", "speech", "acoustic", "codec", "asr", "mel", "wav", "vocoder", "hifigan", "bigvgan",
                          "token2wav", "transcribe", "diarization"}),
               ("text", {"text", "language", "llm", "lm"}))
_FIELD_WORDS = (("audio", {"num_mel_bins", "sampling_rate", "audio_channels"}),
                ("vision", {"image_size", "patch_size", "num_channels"}),
                ("text", {"vocab_size"}))


def version() -> str | None:
    try:
        import transformers
    except ImportError:
        return None
    return transformers.__version__


def model_types() -> list[str]:
    """Every model type with a registered config class, in transformers' order."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    return list(CONFIG_MAPPING_NAMES)


def task_mappings() -> dict[str, list[str]]:
    """Model type -> the auto mappings (tasks) that register a head for it."""
    from transformers.models.auto import modeling_auto

    tasks: dict[str, list[str]] = {}
    for name in sorted(dir(modeling_auto)):
        if not name.endswith("_MAPPING_NAMES") or name in _NO_MODALITY:
            continue
        mapping = getattr(modeling_auto, name)
        if isinstance(mapping, dict):
            for model_type in mapping:
                tasks.setdefault(model_type, []).append(name.removeprefix("MODEL_FOR_").removesuffix(
                    "_MAPPING_NAMES"))
    return tasks


def modality_of_tasks(tasks: Iterable[str]) -> str | None:
    """The modality the task names imply: a multimodal task wins, then audio; text with vision is multimodal."""
    found = set()
    for task in tasks:
        for modality, words in _TASK_WORDS:
            if any(w in task for w in words):
                found.add(modality)
                break
    for modality in ("multimodal", "audio"):
        if modality in found:
            return modality
    if {"text", "vision"} <= found:
        return "multimodal"
    for modality in ("vision", "text", "other"):
        if modality in found:
            return modality
    return None


def _modality_of_words(words: set[str], table) -> str | None:
    """The modality the words of a name say; words of two (vision_text_dual_encoder) make it multimodal."""
    found = [modality for modality, known in table if words & known]
    return None if not found else found[0] if len(found) == 1 else "multimodal"


def _modality_of_fields(fields: set[str]) -> str | None:
    """The first modality whose fields the config has (an audio model may also have a vocabulary)."""
    return next((modality for modality, known in _FIELD_WORDS if fields & known), None)


def _name_words(name: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", name.lower()))


def assign_modalities(records: list[dict]) -> None:
    """Set ``modality`` and ``modality_from`` on every transformers record.

    In order, the first that tells: the auto mappings (task heads); for a type that is only a part of
    composites, the attribute it sits under (``vision_config``); the words of its own model type
    (``gemma4_audio``); a composite's parts (two modalities: multimodal); its own config fields
    (``image_size``: vision); the modality of the composite it is part of, when that is one modality.
    """
    tasks = task_mappings()
    parents: dict[str, list[tuple[str, str]]] = {}
    for r in records:
        for attr, child in r.get("sub_configs", {}).items():
            parents.setdefault(child, []).append((r["model_type"], attr))
    decided: dict[str, tuple[str, str]] = {}
    for r in records:
        r["part_of"] = sorted({p for p, _ in parents.get(r["model_type"], [])})
        r["tasks"] = tasks.get(r["model_type"], [])
        modality = modality_of_tasks(r["tasks"])
        if modality:
            decided[r["model_type"]] = (modality, "auto mappings: " + ", ".join(r["tasks"][:4]).lower())
    undecided = [r for r in records if r["model_type"] not in decided]
    for r in undecided:
        for parent, attr in parents.get(r["model_type"], []):
            if modality := _modality_of_words(_name_words(attr), _NAME_WORDS):
                decided[r["model_type"]] = (modality, f"sub-config {attr} of {parent}")
                break
        else:
            if modality := _modality_of_words(_name_words(r["model_type"]), _NAME_WORDS):
                decided[r["model_type"]] = (modality, "its model type's name")
    for r in undecided:
        if r["model_type"] in decided:
            continue
        subs = r.get("sub_configs", {})
        parts = {decided[c][0] for c in subs.values() if c in decided}
        parts |= {m for attr in subs if (m := _modality_of_words(_name_words(attr), _NAME_WORDS))}
        parts.discard("other")
        if len(parts) >= 2:
            decided[r["model_type"]] = ("multimodal", "sub-configs of " + " and ".join(sorted(parts)))
        elif r.get("field_modality"):
            decided[r["model_type"]] = (r["field_modality"], "config fields")
        elif len(parts) == 1:
            decided[r["model_type"]] = (parts.pop(), "its sub-configs")
    for r in undecided:
        if r["model_type"] in decided:
            continue
        above = {decided[p][0] for p, _ in parents.get(r["model_type"], []) if p in decided}
        if len(above) == 1 and "multimodal" not in above:
            decided[r["model_type"]] = (above.pop(), "the model it is part of")
    for r in records:
        r["modality"], r["modality_from"] = decided.get(r["model_type"], ("other", "nothing says"))


def _model_class(config):
    """The base model class of ``config``: the auto mapping's, else the modeling module's class for it."""
    from transformers import PreTrainedModel
    from transformers.models.auto.modeling_auto import MODEL_MAPPING

    with contextlib.suppress(KeyError, ValueError):
        return MODEL_MAPPING[type(config)]
    module_name = type(config).__module__.replace(".configuration_", ".modeling_")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise LookupError(f"no model class: {module_name} does not import ({one_line(exc)})") from None
    candidates = [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, PreTrainedModel)
                  and c.__dict__.get("config_class", getattr(c, "config_class", None)) is type(config)
                  and not c.__name__.endswith("PreTrainedModel")]
    if not candidates:
        raise LookupError(f"no model class for {type(config).__name__} in {module_name}")
    stem = type(config).__name__.removesuffix("Config")
    # the bare model first (ClipTextModel for ClipTextConfig), then any class without a task head
    candidates.sort(key=lambda c: (c.__name__ != stem + "Model", "For" in c.__name__, len(c.__name__)))
    return candidates[0]


def census_one(model_type: str, build: bool = True) -> dict:
    """The census record of one model type: config fields, model class, parameters, activations.

    ``build=False`` reads the config alone (a few milliseconds): the record then says only what the
    config fields say.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    start = time.perf_counter()
    record: dict = {"source": "transformers", "model_type": model_type, "config_class": None, "model_class": None,
                    "parameters": None, "error": None, "fields": [], "sub_configs": {}, "field_modality": None}
    with quiet():
        try:
            config = CONFIG_MAPPING[model_type]()
        except Exception as exc:  # a config without defaults for every field
            record["error"] = "config: " + one_line(exc)
            return finish_record(record, None, [], start)
        record["config_class"] = type(config).__name__
        fields = config_fields(config)
        record["fields"] = [f.as_dict() for f in fields]
        record["sub_configs"] = sub_configs(config)
        record["field_modality"] = _modality_of_fields(set(vars(config)))
        evidence = None
        if not build:
            return finish_record(record, None, fields, start)
        try:
            cls = _model_class(config)
            record["model_class"] = cls.__name__
            with time_limit(), torch.device("meta"):
                model = cls._from_config(config) if hasattr(cls, "_from_config") else cls(config)
            record["parameters"] = int(sum(p.numel() for p in model.parameters()))
            evidence = module_evidence(model)
            del model
        except Exception as exc:  # one model that does not build must not stop the census
            record["error"] = "build: " + one_line(exc)
    return finish_record(record, evidence, fields, start)
