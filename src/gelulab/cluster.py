"""A Ray session for the work that runs as Ray tasks (training sweeps, accuracy scans).

``ray_session`` connects to the cluster at ``address`` (or starts a local one) unless this process is
already connected, and disconnects on exit only from a session it opened. On a remote cluster
gelulab must be installed on the nodes; on a local one the package is importable as it is here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

RAY_MISSING = "--ray needs Ray: pip install 'gelulab[ray]' (or pip install 'ray[default]')"


def require_ray() -> None:
    """ImportError with the install hint when Ray is missing (before any work starts)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ImportError(RAY_MISSING) from None


@contextmanager
def ray_session(address: str | None, threads_per_task: int = 1) -> Iterator[Any]:
    """The ``ray`` module, connected (see the module text)."""
    require_ray()
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address or "local", include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"OMP_NUM_THREADS": str(threads_per_task)}}, configure_logging=False)
    try:
        yield ray
    finally:
        if started_here:
            ray.shutdown()
