"""Hashes of artifacts: md5 (DVC's address) and sha256 (our integrity check), in one pass.

A directory's sha256 is the sha256 of its listing in ``sha256sum`` format,
one ``<sha256>  <relative/path>\\n`` line per file, sorted by path, so it can
be checked with standard tools:
``find . -type f | LC_ALL=C sort | xargs sha256sum | sed 's| \\./| |' | sha256sum``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from modelreg.errors import InputError

CHUNK = 1024 * 1024

Progress = Callable[[int], None]


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFDIR: "a directory", stat.S_IFLNK: "a symbolic link"}


def describe(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words: "a FIFO", "a character device"..."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def no_progress(_: int) -> None:
    """The default Progress: report nothing."""
    return


@dataclass(frozen=True)
class FileDigest:
    relpath: str
    md5: str
    sha256: str
    size: int


def digest(src: Path, relpath: str, *, copy_to: Path | None = None,
           progress: Progress = no_progress) -> FileDigest:
    """Read ``src`` once, hashing md5 and sha256, and copying it to ``copy_to`` if given."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    size = 0
    with open(src, "rb", opener=_open_regular) as reader:
        out = open(copy_to, "wb") if copy_to is not None else None  # noqa: SIM115
        try:
            while chunk := reader.read(CHUNK):
                md5.update(chunk)
                sha.update(chunk)
                if out is not None:
                    out.write(chunk)
                size += len(chunk)
                progress(len(chunk))
        finally:
            if out is not None:
                out.close()
    return FileDigest(relpath=relpath, md5=md5.hexdigest(), sha256=sha.hexdigest(), size=size)


def _open_regular(path: str, flags: int) -> int:
    """Open without blocking, and refuse anything but a regular file (a FIFO would block a
    read forever, ``/dev/zero`` would never end)."""
    fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError(f"{path} is {describe(mode)}, not a regular file",
                         fix="an artifact or dataset holds regular files only")
    return fd


def walk_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Regular files below ``root`` as (path, posix relpath), sorted; links are refused."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]):
            path = Path(dirpath) / name
            if path.is_symlink():
                raise InputError(f"{path} is a symbolic link", field="--artifact",
                                 fix="copy the file it points to into the artifact directory")
            relpath = path.relative_to(root).as_posix()
            _listable(relpath, str(path))
            yield path, relpath


def listing_sha256(files: list[FileDigest]) -> str:
    for f in files:
        _listable(f.relpath, f.relpath)
    lines = "".join(f"{f.sha256}  {f.relpath}\n" for f in sorted(files, key=lambda f: f.relpath))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def _listable(relpath: str, shown: str) -> None:
    """A name with a line break would make the listing ambiguous: ``a\n<sha>  b`` reads as two
    lines, so another set of files could have the same listing sha256. Refused, everywhere a
    listing is made (register, download, every re-hash of a target, a signature's file list)."""
    if "\n" in relpath or "\r" in relpath:
        raise InputError(f"{shown!r} holds a line break in its name, which the artifact's listing "
                         "cannot tell apart from two files", field="--artifact",
                         fix="rename the file without line breaks")


def total_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p, _ in walk_files(path))


def sha256_file(path: Path, *, chunk: int = CHUNK) -> str:
    """The sha256 of one regular file, read in ``chunk`` blocks (hashlib releases the GIL while it
    hashes, so threads hashing several files run in parallel)."""
    sha = hashlib.sha256()
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0, opener=_open_no_link) as reader:
        while count := reader.readinto(view):
            sha.update(view[:count])
    return sha.hexdigest()


def artifact_sha256(artifact: Path, *, threads: int = 1) -> str:
    """The sha256 an artifact's manifest records: a file's own, or a directory's listing's (see
    the module's docstring), its files hashed on up to ``threads`` threads."""
    if artifact.is_symlink() or not artifact.is_dir():
        return sha256_file(artifact)
    files = list(walk_files(artifact))
    if threads > 1 and len(files) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(threads, len(files))) as pool:
            shas = list(pool.map(sha256_file, [path for path, _ in files]))
    else:
        shas = [sha256_file(path) for path, _ in files]
    return listing_sha256([FileDigest(rel, "", sha, 0) for (_, rel), sha in zip(files, shas, strict=True)])


def _open_no_link(path: str, flags: int) -> int:
    """A regular file that is not a symbolic link: the bytes verified are the ones in place, not
    those of wherever a link points today (``OSError`` ELOOP for a link)."""
    return _open_regular(path, flags | getattr(os, "O_NOFOLLOW", 0))
