"""The steps every census record shares: a time limit and silence while a model builds, and the record's end."""

from __future__ import annotations

import contextlib
import io
import time

from .activations import FieldValue, ModuleEvidence, gated_flag, primary_activation

#: One model that hangs must not stall the census; on the meta device a default builds in well under a second.
BUILD_SECONDS = 120


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message, at most 200 characters."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return text if len(text) <= 200 else text[:197] + "..."


@contextlib.contextmanager
def quiet():
    """Model definitions print notices (a fused kernel not installed...) that must not reach --json output."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


@contextlib.contextmanager
def time_limit(seconds: int = BUILD_SECONDS):
    """TimeoutError after ``seconds`` (SIGALRM: only in a main thread on POSIX; elsewhere no limit)."""
    import signal
    import threading

    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"building the model took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def finish_record(record: dict, evidence: ModuleEvidence | None, fields: list[FieldValue], start: float) -> dict:
    """Add the module counts, the model's activation, the gated flag and the time taken to ``record``."""
    record.update(evidence.as_dict() if evidence is not None else
                  {"modules": {}, "gated_modules": {}, "unregistered_modules": {}, "functional_calls": {}})
    activation, source = primary_activation(evidence, fields)
    record["activation"], record["activation_from"] = activation, source
    record["gated"] = gated_flag(activation, evidence, fields, source)
    record["activation_other"] = None if activation else _other(evidence, fields)
    record["activations"] = sorted(set(record["modules"]) | set(record["functional_calls"])
                                   | {f.activation for f in fields if f.activation})
    record["seconds"] = round(time.perf_counter() - start, 4)
    return record


def _other(evidence: ModuleEvidence | None, fields: list[FieldValue]) -> str | None:
    """What the model uses when it is no registry activation: a module class (XIELUActivation) or a value."""
    if evidence is not None and evidence.unregistered:
        return evidence.unregistered.most_common(1)[0][0]
    return next((f.value for f in fields if f.activation is None), None)
