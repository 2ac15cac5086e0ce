"""The ``gelulab`` command: parses arguments, calls the layers below, prints.

Every verb has --help; verbs that print data take --json. Bad input exits with status 2 and
one line on stderr that says what to do (an unknown activation names the closest known one).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import __version__
from .functions import UnknownActivationError, get, names, supported_dtypes
from .functions.parametric import ParameterError

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the command line: reported as one line, exit status 2."""


def _fail(message: str) -> int:
    print(f"gelulab: error: {message}", file=sys.stderr)
    return EXIT_USAGE


STRICT = ' (strict JSON: NaN and infinities as the strings "nan", "inf", "-inf")'
JSON_HELP = "print JSON" + STRICT


def _print_json(data: Any) -> None:
    """Strict JSON (RFC 8259 has no NaN or infinity): non-finite numbers are written as the strings
    "nan", "inf" and "-inf"."""
    print(json.dumps(_strict(data), indent=2, default=_json_default, allow_nan=False))


def _strict(o: Any) -> Any:
    if isinstance(o, float | np.floating):
        v = float(o)
        return v if math.isfinite(v) else ("nan" if v != v else "inf" if v > 0 else "-inf")
    if isinstance(o, dict):
        return {k: _strict(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_strict(v) for v in o]
    if isinstance(o, np.ndarray):
        return _strict(o.tolist())
    return o


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _activation(name: str) -> str:
    try:
        return get(name).name
    except UnknownActivationError as exc:
        hint = f"; did you mean {exc.suggestion!r}?" if exc.suggestion else ""
        raise UsageError(f"unknown activation {name!r}{hint} (see 'gelulab list')") from None
    except ParameterError as exc:
        raise UsageError(str(exc)) from None


def _activation_list(text: str | None) -> list[str]:
    if not text:
        return names()
    return [_activation(n) for n in text.replace(",", " ").split()]


def _dtype(text: str) -> np.dtype:
    known = {d.name: d for d in supported_dtypes()}
    try:
        return known[text]
    except KeyError:
        raise UsageError(f"unknown dtype {text!r}; use one of {', '.join(known)}") from None


# --- list ------------------------------------------------------------------------------------

def cmd_list(args: argparse.Namespace) -> int:
    rows = [get(n).describe() for n in names()]
    if args.json:
        _print_json(rows)
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="gelulab activations")
    for col in ("name", "aliases", "family", "formula"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], ", ".join(r["aliases"]), r["family"], r["formula"])
    Console(width=max(100, Console().width)).print(table)
    return 0


# --- output paths: checked before any long work -----------------------------------------------

def _check_writable(path: str | None, option: str, folder: bool = False) -> None:
    """UsageError naming the option when ``path`` (a file, or a folder when ``folder``) cannot be written:
    the folder (or the file's folder) is created if missing and a scratch file written and removed there."""
    import tempfile
    from pathlib import Path

    if path is None:
        return
    p = Path(path)
    if folder and p.exists() and not p.is_dir():
        raise UsageError(f"{option} {path} is a file; give a folder (it is created if missing)")
    if not folder and p.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name")
    where = p if folder else p.parent
    try:
        where.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=where, prefix=".gelulab-write-check-"):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write there ({exc.strerror or exc})") from None


# --- eval ------------------------------------------------------------------------------------

def _parse_number(text: str) -> float:
    text = text.strip()
    try:
        return float.fromhex(text) if text.lower().lstrip("+-").startswith("0x") else float(text)
    except ValueError:
        raise UsageError(f"not a number: {text!r} (try -0.75, inf, nan or 0x1.8p-1)") from None


def cmd_eval(args: argparse.Namespace) -> int:
    name = _activation(args.name)
    dtype = _dtype(args.dtype)
    xs = np.array([_parse_number(t) for t in args.x], dtype=np.float64)
    with np.errstate(over="ignore"):
        x_cast = xs.astype(dtype)
    y = get(name).evaluate(x_cast, args.derivative)
    rows = [
        {"x": float(a), "x_hex": float(a).hex(), "y": float(b), "y_hex": float(b).hex()}
        for a, b in zip(x_cast.astype(np.float64), np.asarray(y).astype(np.float64), strict=False)
    ]
    if args.json:
        _print_json({"activation": name, "derivative": args.derivative, "dtype": str(dtype), "values": rows})
        return 0
    label = ["f", "f'", "f''"][args.derivative]
    for r in rows:
        print(f"{name} {label}({r['x']!r}) = {r['y']!r}    [{r['y_hex']}]")
    return 0


# --- accuracy --------------------------------------------------------------------------------

def _accuracy_spec(args: argparse.Namespace, impls: list[str]):
    from .accuracy import ScanSpec, dtype_info

    try:
        dt = dtype_info(args.dtype)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    function, order = _activation(args.function), args.derivative
    kw = {"verify_per_chunk": args.verify, "cross_check": args.cross_check}
    if args.chunk_size:
        kw["chunk_size"] = args.chunk_size
    try:
        if args.range is not None:
            lo, hi = (_parse_number(t) for t in args.range)
            return ScanSpec.from_values(function, order, dt.name, impls, lo, hi, args.stride or 1, **kw)
        if args.exhaustive or (dt.bits == 16 and not args.stride):
            return ScanSpec(function, order, dt.name, tuple(impls), 0, dt.count, args.stride or 1, **kw)
        # float32 by default: a sample of every 4097th bit pattern (odd, so mantissas vary)
        return ScanSpec(function, order, dt.name, tuple(impls), 0, dt.count, args.stride or 4097, **kw)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def cmd_accuracy(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .accuracy import IMPLEMENTATIONS, UnknownImplementationError, resolve_implementation, run_scan
    from .accuracy.summary import print_summary, scan_summary

    names_ = [n for group in (args.impl or [list(IMPLEMENTATIONS)]) for n in group]
    try:
        for n in names_:
            resolve_implementation(n)
    except UnknownImplementationError as exc:
        raise UsageError(str(exc)) from None
    if args.exhaustive and (args.range is not None or args.stride):
        raise UsageError("--exhaustive scans every input; drop --range/--stride (or drop --exhaustive)")
    if args.derivative not in (0, 1, 2):
        raise UsageError("--derivative takes 1 (f') or 2 (f'')")
    for option in ("workers", "chunk_size", "stride"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be at least 1 (got {value})")
    spec = _accuracy_spec(args, names_)
    path = None if args.no_save else Path(args.out) if args.out else spec.default_path()
    _check_writable(str(path) if path else None, "--out")
    _check_writable(args.plot, "--plot")
    try:
        result = run_scan(spec, path=path, workers=args.workers, progress=not (args.no_progress or args.json),
                          fresh=args.fresh, max_seconds=args.max_seconds, use_ray=args.ray or bool(args.address),
                          ray_address=args.address)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.plot and result.results:
        from .accuracy.plot import plot_scan

        plot_scan(result, args.plot)
    if args.json:
        _print_json({**scan_summary(result), "result_file": str(path) if path else None, "plot": args.plot})
        return 0
    print_summary(result)
    if path:
        print(f"results: {path}" + ("" if result.complete else " (partial; run the same command to resume)"))
    if args.plot and result.results:
        print(f"plot: {args.plot}")
    return 0


# --- report ----------------------------------------------------------------------------------

def cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .report import build_report

    out = Path(args.out)
    _check_writable(args.out, "--out", folder=True)
    result = build_report(out_dir=out, quick=args.quick, show_progress=not args.no_progress and not args.json)
    if args.json:
        print(json.dumps({
            "html": str(result.html_path), "markdown": str(result.markdown_path), "seconds": result.seconds,
            "html_bytes": result.html_path.stat().st_size, "quick": args.quick,
            "sections": [{"key": s.key, "title": s.title, "measured": s.measured, "seconds": s.seconds,
                          "data_source": s.data_source, "highlights": s.highlights, "rerun": s.rerun}
                         for s in result.sections],
        }, indent=2))
        return 0
    size = result.html_path.stat().st_size / 1e6
    print(f"wrote {result.html_path} ({size:.1f} MB, self-contained) and {result.markdown_path} "
          f"in {result.seconds:.1f} s")
    return 0


# --- properties / claims / plot --------------------------------------------------------------

def cmd_properties(args: argparse.Namespace) -> int:
    from .analysis.properties import all_properties
    from .analysis.render import print_properties

    chosen = _activation_list(" ".join(args.names))
    props = all_properties(chosen, progress=not args.json and sys.stderr.isatty())
    if args.json:
        _print_json([p.as_dict() for p in props])
    else:
        print_properties(props)
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    from .claims import check_claims, claim_keys
    from .claims.render import print_claims

    unknown = [k for k in args.keys if k not in claim_keys()]
    if unknown:
        raise UsageError(f"unknown claim {unknown[0]!r}; known: {', '.join(claim_keys())}")
    results = check_claims(quick=args.quick, keys=args.keys or None, progress=not args.json and sys.stderr.isatty())
    if args.json:
        _print_json([r.as_dict() for r in results])
    else:
        print_claims(results)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .analysis import plots

    out = Path(args.out)
    if out.suffix.lower() not in plots.FORMATS:
        raise UsageError(f"--out must end in one of {', '.join(plots.FORMATS)} (got {out.name!r})")
    if args.range is not None and not args.range[0] < args.range[1]:
        raise UsageError(f"--range needs A < B (got {args.range[0]} {args.range[1]})")
    _check_writable(args.out, "--out")
    chosen = _activation_list(" ".join(args.names)) if args.names else None
    if args.kind == "functions":
        plots.plot_functions(chosen or ["gelu", "relu"], out, derivatives=args.derivative,
                             x_range=tuple(args.range or (-4.0, 4.0)), mark_minima=True)
    elif args.kind == "minimum":
        plots.plot_minimum_zoom(chosen or ["gelu", "gelu_tanh", "quick_gelu", "relu"], out)
    else:
        plots.plot_approximation_errors(out, names=chosen or ("gelu_tanh", "quick_gelu"),
                                        x_range=tuple(args.range or (-6.0, 6.0)))
    if args.json:
        _print_json({"path": str(out), "kind": args.kind})
    else:
        print(f"wrote {out}")
    return 0


# --- census ------------------------------------------------------------------------------------

def _census_subset(text: str) -> tuple[list[str], list[str]]:
    """'bert,gpt2,timm:vgg16' -> (transformers model types, timm model names)."""
    chosen = [t for t in text.replace(",", " ").split() if t]
    if not chosen:
        raise UsageError("--models needs model types, e.g. --models bert,gpt2,t5 (timm models as timm:vgg16)")
    timm_names = [t.removeprefix("timm:") for t in chosen if t.startswith("timm:")]
    return [t for t in chosen if not t.startswith("timm:")], timm_names


def cmd_census(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import census

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {args.workers})")
    if args.models and args.refresh:
        raise UsageError("--refresh recomputes the stored full census; --models census a subset and store nothing")
    _check_writable(args.plot, "--plot")
    if args.plot and Path(args.plot).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(f"--plot must end in .png, .svg or .pdf (got {Path(args.plot).name!r})")
    show = not (args.no_progress or args.json) and sys.stderr.isatty()
    folder = Path(args.store_dir) if args.store_dir else None
    if folder is not None:
        _check_writable(str(folder), "--store-dir", folder=True)
    try:
        if args.models:
            types, timm_names = _census_subset(args.models)
            if timm_names and census.store.versions()["timm"] is None:
                raise UsageError(f"timm models cannot be censused here: {census.store.versions()['timm_missing']}")
            result = census.run(types, timm_names, workers=args.workers, progress=show)
        else:
            result = census.load_or_run(refresh=args.refresh, folder=folder, workers=args.workers, progress=show)
    except census.CensusError as exc:
        raise UsageError(str(exc)) from None
    if result.note:
        print(f"gelulab: note: {result.note}", file=sys.stderr)
    data = census.census_data(result, records=args.records)
    if args.plot:
        from .census.plot import plot_shares

        data["plot"] = str(plot_shares(data["summary"], args.plot))
    if args.json:
        _print_json(data)
        return 0
    from .census.render import print_census

    print_census(data)
    if args.plot:
        print(f"plot: {args.plot}")
    return 0


# --- train / sweep / results ---------------------------------------------------------------------

def _store_path(args: argparse.Namespace) -> str:
    from .experiments.store import default_store_path

    return str(args.store or default_store_path())


def _overrides(args: argparse.Namespace) -> dict:
    from .experiments.commands import parse_settings

    try:
        settings = parse_settings(args.set)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"--lr must be a positive number, got {args.lr}")
    for option in ("steps", "batch_size"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be at least 1, got {value}")
    explicit = {"steps": args.steps, "lr": args.lr, "batch_size": args.batch_size, "model": args.model,
                "corpus": args.corpus}
    return {**settings, **{k: v for k, v in explicit.items() if v is not None}}


def _experiment_call(fn, *a, **kw):
    from .experiments.store import StoreError
    from .experiments.sweep import SweepError

    try:
        return fn(*a, **kw)
    except (ValueError, StoreError, FileNotFoundError, SweepError) as exc:
        raise UsageError(str(exc)) from None


def cmd_train(args: argparse.Namespace) -> int:
    from .experiments.commands import train_one

    record, new = _experiment_call(train_one, args.task, args.activation, args.seed, _overrides(args),
                                   _store_path(args), threads=args.threads,
                                   show_progress=not (args.no_progress or args.json))
    if args.json:
        _print_json({"stored": new, "store": _store_path(args), "task": record.task,
                     "activation": record.activation, "seed": record.seed, "config": record.config,
                     "metrics": record.metrics, "n_params": record.n_params, "extra": record.extra,
                     "wall_seconds": record.wall_seconds, "config_hash": record.config_hash})
        return 0
    state = "trained and stored" if new else "already stored (not retrained)"
    metrics = ", ".join(f"{k} = {v:.4f}" for k, v in record.metrics.items())
    print(f"{record.task} {record.activation} seed {record.seed}: {state} in {_store_path(args)}")
    print(f"  {metrics}; {record.n_params:,} parameters; {record.wall_seconds:.1f} s")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .experiments.commands import sweep

    activations = args.activations.replace(",", " ").split()
    summary = _experiment_call(sweep, args.task, activations, args.seeds, _overrides(args), _store_path(args),
                               workers=args.workers, threads=args.threads, use_ray=args.ray,
                               address=args.address, show_progress=not (args.no_progress or args.json))
    if args.json:
        _print_json(summary.__dict__)
    else:
        print(f"sweep ({summary.backend}): {summary.finished} runs trained, {summary.skipped} already stored, "
              f"{len(summary.failed)} failed, of {summary.planned}, in {summary.seconds:.1f} s -> {_store_path(args)}")
        for label, error in summary.failed:
            print(f"  failed: {label}: {error}", file=sys.stderr)
    return 1 if summary.failed else 0


def cmd_results(args: argparse.Namespace) -> int:
    from .experiments.activations import canonical_activation
    from .experiments.commands import results
    from .experiments.tables import print_tables

    _check_writable(args.plot, "--plot")
    summaries, figure = _experiment_call(results, _store_path(args), args.task,
                                         canonical_activation(args.baseline), args.plot)
    if args.json:
        _print_json({"store": _store_path(args), "summaries": [s.to_dict() for s in summaries],
                     "plot": str(figure) if figure else None})
        return 0
    print_tables(summaries)
    if figure:
        print(f"learning curves: {figure}")
    return 0


# --- inference -----------------------------------------------------------------------------------

def _comma_list(text: str, known: list[str] | tuple[str, ...], flag: str) -> list[str]:
    chosen = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in chosen if t not in known]
    if bad or not chosen:
        import difflib

        close = difflib.get_close_matches(bad[0], known, n=1) if bad else []
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"{flag}: unknown {bad[0] if bad else 'empty list'!r}{hint}; known: {', '.join(known)}")
    return chosen


def _batch_list(text: str, example: str) -> list[int]:
    """'1,16' -> [1, 16]: batch sizes of at least 1."""
    try:
        batches = [int(b) for b in text.split(",")]
    except ValueError:
        raise UsageError(f"bad --batches {text!r}; use e.g. {example}") from None
    if min(batches) < 1:
        raise UsageError("--batches must be at least 1")
    return batches


def _at_least_one(value: int | None, flag: str) -> int | None:
    """A count option (None when not given), refused below 1."""
    if value is not None and value < 1:
        raise UsageError(f"{flag} must be at least 1")
    return value


def _model_labels() -> list[str]:
    from .bench.models import MODELS

    return list(MODELS)


def cmd_inference(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .bench import models

    config = models.ModelBenchConfig.quick() if args.quick else models.ModelBenchConfig()
    if args.models:
        config.models = _comma_list(args.models, list(models.MODELS), "--models")
    if args.activations:
        config.activations = _comma_list(args.activations, models.TORCH_MODULES, "--activations")
    if args.modes:
        config.modes = _comma_list(args.modes, models.MODES, "--modes")
    if args.batches:
        config.batches = _batch_list(args.batches, "1,16")
    if _at_least_one(args.repeats, "--repeats") is not None:
        config.repeats = args.repeats
    if _at_least_one(args.threads, "--threads") is not None:
        config.threads = args.threads
    if args.no_gelulab:
        config.gelulab = False
    out = Path(args.out) if args.out else (None if args.quick else models.DEFAULT_OUT)
    if out is not None:
        _check_writable(str(out), "--out")
    _check_writable(args.plot, "--plot")
    try:
        data = models.run(config, path=out, progress=not args.json and sys.stderr.isatty(), fresh=args.fresh)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    figure = models.plot(data, args.plot or (out.with_suffix(".png") if out else Path("inference.png")))
    if args.json:
        _print_json({**data, "stored": str(out) if out else None, "plot": str(figure)})
        return 0
    header, rows = models.table_rows(data)
    m = data["machine"]
    print(f"{m['cpu']}, {m['threads']} threads, torch {m['torch']}" + (" (few-layer models: --quick)" if config.small
                                                                      else ""))
    print(" | ".join(header))
    for r in rows:
        print(" | ".join(r))
    print(f"stored: {out}" if out else "not stored (--quick)")
    print(f"plot: {figure}")
    return 0


def cmd_int8(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .experiments import int8

    config = int8.Int8Config.quick() if args.quick else int8.Int8Config()
    if args.models:
        labels = [f"{t}/{m}" for t, m in int8.MODELS]
        chosen = _comma_list(args.models, labels, "--models")
        config.models = tuple(tuple(c.split("/")) for c in chosen)
    if args.activations:
        config.activations = tuple(_comma_list(args.activations, int8.ACTIVATIONS, "--activations"))
    if _at_least_one(args.steps, "--steps") is not None:
        config.steps = args.steps
    if args.batches:
        config.batches = tuple(_batch_list(args.batches, "1,64"))
    if _at_least_one(args.repeats, "--repeats") is not None:
        config.repeats = args.repeats
    out = Path(args.out) if args.out else (None if args.quick else int8.default_path())
    if out is not None:
        _check_writable(str(out), "--out")
    result = int8.run(config, progress=not args.json and sys.stderr.isatty())
    if out is not None:
        int8.save(result, out)
    verdict = int8.relu_small_int8(result)
    if args.json:
        _print_json(result.to_json() | {"verdict": verdict, "stored": str(out) if out else None})
        return 0
    print(f"{result.meta['cpu']}, {result.meta['engine']} int8, timed on 1 thread, torch {result.meta['torch']}"
          + (" (--quick: one model, a few training steps)" if args.quick else ""))
    print(int8.markdown_table(result))
    print(f"'Small models (mobile) -> ReLU', int8 part: {verdict['verdict']}")
    print(f"stored: {out}" if out else "not stored (--quick)")
    return 0


# --- bench -------------------------------------------------------------------------------------

def _log2_sizes(text: str) -> list[int]:
    """'10-26' (every other power), '10,16,20' or '24' -> element counts."""
    try:
        if "-" in text:
            lo, hi = (int(t) for t in text.split("-", 1))
            exps = list(range(lo, hi + 1, 2))
        else:
            exps = [int(t) for t in text.replace(",", " ").split()]
    except ValueError:
        raise UsageError(f"bad --log2-sizes {text!r}; use e.g. 10-26, or 16,20,24") from None
    if not exps or min(exps) < 0 or max(exps) > 30:
        raise UsageError(f"--log2-sizes {text!r}: exponents must lie in 0..30")
    return [1 << e for e in exps]


def cmd_bench(args: argparse.Namespace) -> int:
    if args.device == "cuda":
        from .bench import gpu

        return gpu.main(["bandwidth", *(["--json"] if args.json else [])])
    from .bench import cpu

    config = cpu.BenchConfig.quick() if args.quick else cpu.BenchConfig()
    if args.activations:
        config.activations = _activation_list(args.activations)
        bad = [a for a in config.activations if a not in cpu.COMPARABLE]
        if bad:
            raise UsageError(f"torch has no op of its own for {', '.join(bad)}; bench one of "
                             f"{', '.join(cpu.COMPARABLE)}")
    if args.log2_sizes:
        config.sizes = _log2_sizes(args.log2_sizes)
    if args.threads:
        try:
            config.threads = [int(t) for t in args.threads.replace(",", " ").split()]
        except ValueError:
            raise UsageError(f"bad --threads {args.threads!r}; use e.g. 1,2") from None
        if not config.threads or min(config.threads) < 1:
            raise UsageError(f"--threads must list thread counts of at least 1, got {args.threads!r}")
    if args.repeats:
        config.repeats = args.repeats
    config.dtype = args.dtype
    if not (math.isfinite(args.input_scale) and args.input_scale > 0):
        raise UsageError(f"--input-scale must be a positive number, not {args.input_scale}")
    config.input_scale = args.input_scale
    out = args.out or (cpu.DEFAULT_OUT if args.dtype == "float32" else
                       cpu.DEFAULT_OUT.with_name(f"{cpu.DEFAULT_OUT.stem}_{args.dtype}.json"))
    if args.no_compile:
        config.compile = False
    config.pool = bool(args.pool)
    if args.runs is not None:
        if args.runs < 1:
            raise UsageError(f"--runs must be at least 1, got {args.runs}")
        config.runs = args.runs
    if args.memory_log2_size is not None:
        if not 0 <= args.memory_log2_size <= 30:
            raise UsageError("--memory-log2-size must lie in 0..30 (0 skips the memory measurement)")
        config.memory_size = 0 if args.memory_log2_size == 0 else 1 << args.memory_log2_size
    _check_writable(str(out), "--out")
    _check_writable(args.plot, "--plot")
    result = cpu.run(config, progress=not args.json)
    path = cpu.save(result, out)
    figure = cpu.plot(result, args.plot or path.with_suffix(".png"))
    if args.json:
        _print_json(result.to_json() | {"summary": cpu.summary_rows(result)})
        return 0
    print(f"dtype {config.dtype}, inputs normal with standard deviation {config.input_scale:g}, "
          f"gelulab's outputs {cpu.pool_text(result)}")
    print(cpu.markdown_table(result))
    if result.memory:
        print()
        print(cpu.memory_table(result))
    print(f"\nload average {result.meta['load_average_before']} -> {result.meta['load_average_after']}; "
          f"wrote {path} and {figure}")
    return 0


# --- parser ----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gelulab",
        description="GELU, ReLU and their relatives: exact (correctly rounded), fast, and compared.",
    )
    parser.add_argument("--version", action="version", version=f"gelulab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="VERB")
    sub.required = True

    p = sub.add_parser("list", help="the registered activations, their aliases and formulas",
                       description="List every registered activation with its aliases, family and formula.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table" + STRICT)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("eval", help="evaluate an activation or its derivative at given points",
                       description="Evaluate an activation (or its 1st/2nd derivative) at X..., rounded "
                       "correctly into --dtype. Numbers may be decimal, inf, nan or hex floats.")
    p.add_argument("name", help="activation name or alias (see 'gelulab list')")
    p.add_argument("x", nargs="+", help="input values")
    p.add_argument("--derivative", type=int, choices=(0, 1, 2), default=0, help="0: f, 1: f', 2: f''")
    p.add_argument("--dtype", default="float64", help="float64 (default), float32, float16 or bfloat16")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("accuracy", help="ulp error of GELU implementations on every input of a dtype",
                       description="Grade implementations (gelulab, torch, numpy, scipy, jax, or module:function) "
                       "against the correctly rounded result. 16-bit dtypes: every input by default; float32: "
                       "every 4097th bit pattern unless --exhaustive (2^32 inputs, all cores, resumable) or "
                       "--range A B [--stride N].")
    p.add_argument("--impl", nargs="+", action="append", metavar="NAME",
                   help="implementations to grade (default: every registered one that has the function)")
    p.add_argument("--function", default="gelu", help="activation name or alias (default: gelu)")
    p.add_argument("--dtype", default="bfloat16", help="float32, float16 or bfloat16 (default)")
    p.add_argument("--derivative", type=int, nargs="?", const=1, default=0, metavar="N",
                   help="grade the first derivative (or --derivative 2: the second)")
    p.add_argument("--exhaustive", action="store_true", help="every input of the dtype (2^32 for float32)")
    p.add_argument("--range", nargs=2, metavar=("A", "B"), help="only inputs in [A, B] (decimal or hex floats)")
    p.add_argument("--stride", type=int, help="every N-th input (in order of value)")
    p.add_argument("--out", help="result/checkpoint file (default: results/accuracy/<scan>.json)")
    p.add_argument("--no-save", action="store_true", help="do not write a result file")
    p.add_argument("--fresh", action="store_true", help="ignore an existing result/checkpoint file")
    p.add_argument("--workers", type=int, help="processes (default: every core)")
    p.add_argument("--chunk-size", type=int, help="inputs per chunk (default 2^20)")
    p.add_argument("--verify", type=int, default=0, metavar="K",
                   help="also check K random inputs per chunk against mpmath (measures the float64 bound)")
    p.add_argument("--max-seconds", type=float, help="stop after about this long, saving a resumable result")
    p.add_argument("--cross-check", action="store_true",
                   help="check the reference's float64 error bound on every input against long double")
    p.add_argument("--ray", action="store_true", help="run the chunks as Ray tasks (a local cluster unless --address)")
    p.add_argument("--address", help="Ray cluster address (implies --ray); the checkpoint stays on this machine")
    p.add_argument("--plot", metavar="FILE", help="write the ulp-error-vs-x plot (PNG)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_accuracy)

    p = sub.add_parser("report", help="write the GELU-vs-ReLU report (HTML and Markdown)",
                       description="Compute (or reuse) every result and write report/index.html and "
                       "report.md with plots beside them.")
    p.add_argument("--out", default="report", help="output folder (default: ./report)")
    p.add_argument("--quick", action="store_true", help="small, fast version (for tests)")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.add_argument("--json", action="store_true", help="print what was written and each section's data" + STRICT)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("properties", help="computed properties of activations (monotonic, minimum, smoothness...)",
                       description="Compute, for each activation: nonlinearity, monotonicity (decreasing "
                       "intervals, global minimum to float64 precision), continuity class of f and f', range, "
                       "negative outputs, f'(0) and limits, moments under N(0,1) and the largest gap to GELU.")
    p.add_argument("names", nargs="*", help="activation names or aliases (default: all)")
    p.add_argument("--json", action="store_true", help="print JSON with every number" + STRICT)
    p.set_defaults(func=cmd_properties)

    p = sub.add_parser("claims", help="check every statement of the GELU-vs-ReLU explainer",
                       description="Quote each statement of the explainer and give its verdict (holds, fails, "
                       "holds in part, cannot be settled here) with the computed, measured or training evidence.")
    p.add_argument("keys", nargs="*", help="claim keys to check (default: all; see --json for the keys)")
    p.add_argument("--quick", action="store_true", help="smaller timing for the speed claims")
    p.add_argument("--json", action="store_true", help="print JSON claim records" + STRICT)
    p.set_defaults(func=cmd_claims)

    p = sub.add_parser("plot", help="plot activations, derivatives, GELU's minimum or the approximation errors",
                       description="Plot with matplotlib; PNG, SVG or PDF by the suffix of --out.")
    p.add_argument("names", nargs="*", help="activations (default: gelu relu; for errors: gelu_tanh quick_gelu)")
    p.add_argument("--kind", choices=("functions", "minimum", "errors"), default="functions",
                   help="functions (default), a zoom on the minimum, or the approximations minus exact GELU")
    p.add_argument("--derivative", action="store_true", help="add a panel with the first derivatives")
    p.add_argument("--range", nargs=2, type=float, metavar=("A", "B"), help="x range (default -4 4)")
    p.add_argument("--out", default="gelulab_plot.png", help="output file (.png, .svg or .pdf)")
    p.add_argument("--json", action="store_true", help="print the written path as JSON" + STRICT)
    p.set_defaults(func=cmd_plot)

    def experiment_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--steps", type=int, help="training steps (task default otherwise)")
        p.add_argument("--lr", type=float, help="learning rate")
        p.add_argument("--batch-size", type=int, help="minibatch size")
        p.add_argument("--model", help="mnist1d: mlp or cnn (default cnn)")
        p.add_argument("--corpus", help="lm: pydoc (default), shakespeare:PATH or wikitext:FOLDER")
        p.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="any other task setting, e.g. n_layer=4 (repeatable)")
        p.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1)")
        p.add_argument("--store", help="results store (default $GELULAB_STORE or results/gelulab.sqlite)")
        p.add_argument("--json", action="store_true", help=JSON_HELP)
        p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("train", help="train one model (task, activation, seed) into the results store",
                       description="Train one run and store it (config, seed, versions, curves, metrics, wall "
                       "time). Tasks: lm (char transformer on CPython's docs), digits (CNN), mnist1d (MLP/CNN). "
                       "A run already in the store is not retrained.")
    p.add_argument("--task", required=True, help="lm, digits or mnist1d")
    p.add_argument("--activation", required=True, help="registry name or alias; lm also takes geglu, swiglu, reglu")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights and data order (default 0)")
    experiment_options(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sweep", help="train activations x seeds (resumable; locally or on Ray)",
                       description="Train every activation with seeds 0..N-1 on the task(s) and store each run "
                       "as it finishes. Rerunning the same command resumes: stored runs are skipped.")
    p.add_argument("--task", required=True, help="lm, digits, mnist1d, or vision (= digits,mnist1d); comma list")
    p.add_argument("--activations", default="relu,gelu", help="comma list (default relu,gelu)")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds, 0..N-1 (default 5)")
    p.add_argument("--workers", type=int, help="runs in parallel: processes (default 1), or Ray tasks in flight "
                   "(default: the cluster's CPUs)")
    p.add_argument("--ray", action="store_true", help="run as Ray tasks (local cluster unless --address)")
    p.add_argument("--address", help="Ray cluster address, e.g. 127.0.0.1:6379 (with --ray)")
    experiment_options(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("results", help="mean ± 95%% CI per activation and paired tests against a baseline",
                       description="Summarise the stored runs: per experiment and activation the mean ± 95% CI "
                       "over seeds (t distribution), and the paired difference to the baseline on the same "
                       "seeds with a paired t-test.")
    p.add_argument("--task", help="lm, digits, mnist1d or vision (default: all)")
    p.add_argument("--baseline", default="relu", help="activation compared against (default relu)")
    p.add_argument("--plot", help="also write the learning curves to this PNG")
    p.add_argument("--store", help="results store (default $GELULAB_STORE or results/gelulab.sqlite)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_results)

    p = sub.add_parser("bench", help="CPU speed of gelulab's ops vs a copy and vs torch (eager and compiled)",
                       description="Time gelulab's ops (float32 unless --dtype; forward into out= (the kernel "
                       "alone), forward allocating and forward+backward, output pool off) "
                       "against a copy of the same tensor and torch's own op in the same run; medians of "
                       "repeats over sizes and thread counts; peak memory of GEGLU/SwiGLU forward+backward. "
                       "Writes a JSON (reused by 'gelulab report') and a plot.")
    p.add_argument("--activations", help="comma-separated: gelu, gelu_tanh, silu (default: all three)")
    p.add_argument("--log2-sizes", help="element counts as powers of two: 10-26 (default, every other) or 16,20,24")
    p.add_argument("--threads", help="thread counts, e.g. 1,2 (default 1,2)")
    p.add_argument("--repeats", type=int, help="samples per median (default 9)")
    p.add_argument("--no-compile", action="store_true", help="skip torch.compile (its compiles are slow)")
    p.add_argument("--memory-log2-size", type=int, help="GEGLU/SwiGLU peak-memory input size as a power of two "
                   "(default 24; 0 skips it)")
    p.add_argument("--quick", action="store_true", help="a small run: gelu, 2^10 and 2^14, no compile")
    p.add_argument("--pool", action="store_true",
                   help="also time gelulab's allocating forward with its output pool on (gelulab.torch.pool), "
                   "beside torch's out= and a copy_ into one reused output: the same memory reuse. The other "
                   "forms always run with the pool off, on fresh memory like torch's")
    p.add_argument("--no-pool", action="store_true", help="no effect: the allocating forms always run with the "
                   "pool off now (accepted for older scripts)")
    p.add_argument("--runs", type=int, help="whole measurements one after the other (default 1); each cell shows "
                   "its median and its range over the runs")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="cpu (default), or cuda: bandwidth vs a device copy, torch, torch.compile and Liger")
    p.add_argument("--dtype", choices=("float32", "float16", "bfloat16"), default="float32",
                   help="element type of the timed tensors (default float32; the report shows float32)")
    p.add_argument("--input-scale", type=float, default=1.0,
                   help="standard deviation of the normal inputs (default 1). gelulab's float32 kernels "
                   "take a cheaper form for blocks of 64 inputs that all lie within |x| <= 3.5, so wider "
                   "inputs (e.g. 4) show the speed of the general form")
    p.add_argument("--out", help="where to store the JSON (default results/bench/cpu.json, "
                   "results/bench/cpu_<dtype>.json for the 16-bit types)")
    p.add_argument("--plot", help="plot path (default: the JSON's path with .png)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables" + STRICT)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("inference", help="latency of real networks with each activation (transformers' models)",
                       description="Build ResNet-50, ConvNeXt-T, MobileNetV2, EfficientNet-B0, ViT-S/16 and BERT-base "
                       "from transformers' configs (random weights, no download), with their own activation and "
                       "with every activation module swapped to torch's ReLU, GELU, GELU-tanh and SiLU (and to "
                       "gelulab's ops, eager); time each variant in turns (median of repeats, ratio to ReLU's in "
                       "the same turns) at each batch size, eager and torch.compile, and profile the activation's "
                       "share of the eager time. Each group is stored as soon as it is measured "
                       "(results/bench/models.json) and skipped by a rerun, which 'gelulab report' reuses. Measure on "
                       "an otherwise idle machine: with fewer free cores than threads, latencies stall.")
    p.add_argument("--models", help=f"comma list (default all): {', '.join(_model_labels())}")
    p.add_argument("--activations", help="torch modules swapped in (default relu,gelu,gelu_tanh,silu)")
    p.add_argument("--batches", help="comma list of batch sizes (default 1,16)")
    p.add_argument("--modes", help="comma list of eager (inference), compile (inference, torch.compile) and train "
                        "(a training step: forward and backward, eager) (default eager,compile; compiles take minutes)")
    p.add_argument("--repeats", type=int, help="timed passes per variant (default 7)")
    p.add_argument("--threads", type=int, help="torch threads (default torch's own)")
    p.add_argument("--no-gelulab", action="store_true", help="leave out gelulab's ops")
    p.add_argument("--quick", action="store_true", help="few-layer models at 64 px, batch 1, eager, ReLU and GELU; "
                   "not stored: shows the pipeline, not the answer")
    p.add_argument("--fresh", action="store_true", help="replace the stored measurement instead of resuming it")
    p.add_argument("--out", help="the JSON (default results/bench/models.json)")
    p.add_argument("--plot", help="plot path (default: the JSON's path with .png)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_inference)

    p = sub.add_parser("int8", help="post-training int8 of the trained models with ReLU, GELU and SiLU",
                       description="Train the vision tasks' models (digits CNN, MNIST-1D MLP and CNN) and the "
                       "lm task's transformer with each activation, quantize each to int8 after training (torch.ao, "
                       "x86 backend: the vision models static in FX graph mode, calibrated on training batches; "
                       "the transformer dynamically, int8 matmuls), and measure test accuracy (validation loss) "
                       "in float32 and int8, "
                       "latency of both on one thread at each batch size (medians, every variant in turns), and "
                       "how the int8 graph holds the activation (fused into the layer before it, or a float "
                       "island: dequantize, float op, quantize). Stored in results/int8.json ($GELULAB_INT8), "
                       "which 'gelulab report' reuses. Measure on an otherwise idle machine.")
    from .experiments.int8 import MODELS as INT8_MODELS  # (no torch at import)

    p.add_argument("--models", help="comma list (default all): " + ", ".join(f"{t}/{m}" for t, m in INT8_MODELS))
    p.add_argument("--activations", help="comma list (default relu,gelu,silu)")
    p.add_argument("--steps", type=int, help="training steps per model (default: each task's own)")
    p.add_argument("--batches", help="comma list of batch sizes timed (default 1,64)")
    p.add_argument("--repeats", type=int, help="timed rounds per variant (default 7)")
    p.add_argument("--quick", action="store_true", help="one model, 60 steps, batch 1; not stored")
    p.add_argument("--out", help="the JSON (default results/int8.json)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_int8)

    p = sub.add_parser("census", help="which activation the model definitions of transformers (and timm) use",
                       description="Build every model architecture the installed transformers defines (and timm's, "
                       "where timm imports) from its default config on the meta device (no weights, no network), "
                       "count the activation modules inside it and map them to registry names; count by modality "
                       "and by parameters, with the gated share, the config fields' own spellings, the explainer's "
                       "example models and the verdicts on its statements about practice. The census is stored "
                       "under the library versions (results/census/ or $GELULAB_CENSUS_DIR) and reused until they "
                       "change.")
    p.add_argument("--refresh", action="store_true", help="recompute the stored census")
    p.add_argument("--models", metavar="TYPES",
                   help="census only these (comma list of transformers model types, timm models as timm:NAME); "
                   "nothing is stored")
    p.add_argument("--workers", type=int, help="processes building models (default: every core, at most 4)")
    p.add_argument("--store-dir", metavar="DIR", help="where stored censuses live (default results/census)")
    p.add_argument("--plot", metavar="FILE", help="also write the shares by modality and size (.png, .svg, .pdf)")
    p.add_argument("--records", action="store_true", help="with --json: add every model's record")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_census)

    return parser


def _is_negative_number(token: str) -> bool:
    if not token.startswith("-") or token.startswith("--") or len(token) < 2:
        return False
    try:
        _parse_number(token)
    except UsageError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # argparse reads -1e-3, -inf and -0x1p-3 as options; a leading space makes them values (float() strips it)
    argv = [f" {a}" if _is_negative_number(a) else a for a in argv]
    try:
        args = parser.parse_args(argv)
    except ValueError as exc:  # a bad environment variable read while the parser is built
        return _fail(str(exc))
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        return _fail(str(exc))
    except (UnknownActivationError, ParameterError) as exc:
        return _fail(str(exc))
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
