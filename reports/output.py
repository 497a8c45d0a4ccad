"""Writing a rendered report to disk: the one place in reports/ that touches the file system."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from scanner.errors import OutputError


def _mode_for(target: Path) -> int:
    """Keep an existing report's permissions; a new one gets the usual 0666 minus the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that readers see the old file or the new one, never half.

    The text goes to a temporary file in the same directory, is flushed to disk, then renamed over
    ``path`` (``os.replace`` is atomic on one file system). Any failure raises OutputError with one
    clear line and leaves no temporary file behind.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise OutputError(f"cannot write report to {target}: it is a directory")
    tmp_name: str | None = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", newline="", dir=directory, prefix=f".{target.name}.", suffix=".tmp", delete=False
        ) as handle:
            tmp_name = handle.name
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, _mode_for(target))
        os.replace(tmp_name, target)
        tmp_name = None
    except OSError as error:
        reason = error.strerror or str(error)
        raise OutputError(f"cannot write report to {target}: {reason}") from None
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
