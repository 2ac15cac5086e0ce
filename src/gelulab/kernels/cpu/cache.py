"""numba's on-disk cache of the CPU kernels, kept in step with every source file they inline.

numba keys a cached function by its own file's modification time only. The kernels in
:mod:`.fast` and :mod:`.half` inline element math from :mod:`.elements`, :mod:`.simd`,
:mod:`.runtime` and the polynomials of :mod:`gelulab.functions`: a change there alone would leave
the cached machine code of the old arithmetic in use, and a correctly rounded kernel silently
wrong. :func:`guard` hashes all of those sources and, when the digest differs from the one
stored beside the cache, removes the cache files of this package before any kernel loads.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_FUNCTIONS = _HERE.parent.parent / "functions"
#: Every file whose code the compiled kernels of this package inline or read as constants.
SOURCES = (*sorted(_HERE.glob("*.py")), _FUNCTIONS / "fast_core.py", _FUNCTIONS / "fast_erfc.py",
           _FUNCTIONS / "constants.py")
STAMP = "gelulab-kernel-sources.sha256"


def digest() -> str:
    h = hashlib.sha256()
    for path in SOURCES:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def guard(cache_dir: Path = _HERE / "__pycache__") -> bool:
    """Drop the cached kernels when their sources changed since they were cached; whether it did.
    Best effort: a read-only install or a lost race with another process leaves numba to
    recompile (it checks its own index) and never fails the import."""
    stamp = cache_dir / STAMP
    current = digest()
    with contextlib.suppress(OSError):
        if stamp.read_text(encoding="ascii") == current:
            return False
    dropped = False
    with contextlib.suppress(OSError):
        for f in (*cache_dir.glob("*.nbi"), *cache_dir.glob("*.nbc")):
            with contextlib.suppress(OSError):
                f.unlink()
                dropped = True
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = stamp.with_name(f"{STAMP}.tmp")
        tmp.write_text(current, encoding="ascii")
        tmp.replace(stamp)
    return dropped
