"""The kernels' numba cache is dropped when any source they inline changes (numba alone looks only at each
function's own file)."""

from __future__ import annotations

from gelulab.kernels.cpu import cache


def test_a_changed_source_drops_the_cached_kernels_once(tmp_path):
    (tmp_path / "fast.forward-1.py311.nbi").write_bytes(b"index")
    (tmp_path / "fast.forward-1.py311.1.nbc").write_bytes(b"code")
    (tmp_path / "unrelated.txt").write_text("kept")
    assert cache.guard(tmp_path)  # no stamp yet: whatever is cached predates it
    assert sorted(p.name for p in tmp_path.iterdir()) == [cache.STAMP, "unrelated.txt"]
    (tmp_path / "half.x-2.py311.nbi").write_bytes(b"index")  # cached under the current sources
    assert not cache.guard(tmp_path) and (tmp_path / "half.x-2.py311.nbi").exists()
    (tmp_path / cache.STAMP).write_text("0" * 64)  # as if elements.py had changed since
    assert cache.guard(tmp_path) and not (tmp_path / "half.x-2.py311.nbi").exists()


def test_the_digest_covers_the_inlined_element_math():
    names = {p.name for p in cache.SOURCES}
    assert {"elements.py", "simd.py", "runtime.py", "fast.py", "half.py", "fast_core.py", "fast_erfc.py"} <= names
    assert all(p.exists() for p in cache.SOURCES)
