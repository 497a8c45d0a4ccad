"""Writing a rendered report to disk: the one place in reports/ that touches the file system."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from camsweep.errors import OutputError


def _existing_mode(target: Path) -> int | None:
    """An existing report's permissions (kept on replace), or None for a new file.

    A symbolic link counts as new (the link itself is replaced), and set-id/sticky bits are
    never carried over.
    """
    try:
        status = os.stat(target, follow_symlinks=False)
    except OSError:
        return None
    return None if stat.S_ISLNK(status.st_mode) else status.st_mode & 0o777


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that readers see the old file or the new one, never half.

    The text goes to a temporary file in the same directory, is flushed to disk, then renamed over
    ``path`` (``os.replace`` is atomic on one file system). A new file is private (0600 less the
    umask); an existing one keeps its permissions. Any failure raises OutputError with one
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
        mode = _existing_mode(target)
        if mode is not None:
            os.chmod(tmp_name, mode)
        # else: a new file keeps the temporary file's 0600 (less the umask): reports and saved
        # scans are an inventory of vulnerable devices; share one by chmod-ing it once.
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
