"""Where a warehouse's files live: a local directory, or any fsspec URL (``memory://``, ``s3://`` …).

Every data file appears whole or not at all. Locally a file is written under a temporary name in its
final directory (a name no reader matches: it starts with ``.`` and ends in ``.tmp``), flushed and
``fsync``-ed, then ``os.replace``-d onto its final name, and the directory is ``fsync``-ed so the
rename survives a power cut. On object stores a single PUT is already atomic (readers see the old
listing or the whole object), so the file is written to its final name directly.

File names are content-addressed: ``part-<sha256 of the batch's sorted natural keys>.parquet``. Two
processes that archive the same rows at once write the same name, and the second rename replaces
the first with the same rows: no duplicate file, no collision between different batches.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Location", "batch_name"]


def batch_name(keys: pd.DataFrame) -> str:
    """``part-<hash>.parquet`` from the natural keys of the rows in a file (order-independent)."""
    hashed = np.sort(pd.util.hash_pandas_object(keys, index=False).to_numpy())
    return f"part-{hashlib.sha256(hashed.tobytes()).hexdigest()[:32]}.parquet"


class Location:
    """A warehouse root: ``read_text``/``write_atomic``/``parquet_files`` on a local path or fsspec URL."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        text = os.fspath(root)
        scheme = text.split("://", 1)[0] if "://" in text else ""
        self.fs: Any = None
        if scheme in ("", "file"):
            self.local: Path | None = Path(text.removeprefix("file://")).expanduser().resolve()
            self.root = str(self.local)
        else:
            import fsspec

            self.local = None
            self.fs = fsspec.filesystem(scheme)
            self.root = text.rstrip("/")
        self.scheme = scheme or "file"

    def __repr__(self) -> str:
        return self.root

    @property
    def url(self) -> str:
        """The root as a URL (``file://…`` for a local directory), for engines such as Spark."""
        return self.local.as_uri() if self.local is not None else self.root

    def join(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def ensure(self) -> None:
        if self.local is not None:
            self.local.mkdir(parents=True, exist_ok=True)
        else:
            self.fs.makedirs(self.root, exist_ok=True)

    def exists(self) -> bool:
        return self.local.is_dir() if self.local is not None else bool(self.fs.exists(self.root))

    def read_text(self, name: str) -> str | None:
        path = self.join(name)
        if self.local is not None:
            try:
                return Path(path).read_text(encoding="utf-8")
            except FileNotFoundError:
                return None
        if not self.fs.exists(path):
            return None
        return str(self.fs.cat_file(path).decode("utf-8"))

    def write_atomic(self, relpath: str, data: bytes) -> str:
        """Write ``data`` to ``relpath`` under the root so that it appears whole or not at all."""
        final = self.join(relpath)
        if self.local is None:
            parent = final.rsplit("/", 1)[0]
            self.fs.makedirs(parent, exist_ok=True)
            self.fs.pipe_file(final, data)
            return final
        path = Path(final)
        created = not path.parent.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(path.parent)
        if created:  # the new partition directory's own entry
            _fsync_dir(path.parent.parent)
            _fsync_dir(path.parent.parent.parent)
        return str(path)

    def parquet_files(self, kind: str, partitions: list[str] | None = None) -> list[str]:
        """Data files of ``kind`` (all, or those of the given ``partition=value`` directories), sorted."""
        dirs = [self.join(kind, p) for p in partitions] if partitions is not None else [self.join(kind, "*")]
        found: list[str] = []
        for d in dirs:
            pattern = f"{d}/*.parquet"
            if self.local is not None:
                base = Path(self.local)
                found += [str(p) for p in base.glob(str(Path(pattern).relative_to(base)))]
            else:
                found += [self._qualified(p) for p in self.fs.glob(pattern)]
        return sorted(found)

    def _qualified(self, path: str) -> str:
        return path if "://" in path else f"{self.scheme}://{path.lstrip('/')}"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)
