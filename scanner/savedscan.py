"""Scans kept as files: written atomically, read back with one clear error for any bad file.

* :func:`write_atomic` -- the one way camsweep writes a file it produces (reports, saved scans):
  readers see the old file or the new one, never half of either; :func:`check_writable` and
  :func:`check_state_dir` say before a run whether it will be able to.
* :func:`save_state` -- keep a result as ``last-scan.json`` in the state directory, for
  ``camsweep explain`` without ``--scan``; :func:`last_scan_path` says where that is.
* :func:`keep_unstored` -- keep a result the inventory did not take (a dropped connection) as a
  file of its own, for ``camsweep import scan``.
* :func:`read_scan` -- a scan saved as JSON (``scan``/``identify --format json``, a report JSON,
  ``last-scan.json``; ``-`` is stdin); :func:`load_result` is the same for a file the user
  expects to exist, with a hint when it does not.

The commands (``scan``, ``report``, ``explain``, ``demo``) share these; none reads or writes a
saved scan itself.
"""

from __future__ import annotations

import os
import stat
import tempfile
from datetime import UTC
from pathlib import Path
from typing import Any

from . import jsonio
from .config import default_state_dir
from .errors import InputFileError, OutputError, SchemaVersionError
from .models import ScanResult

STATE_FILE = "last-scan.json"


# --------------------------------------------------------------------------- writing


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


def _try_writing(directory: Path, name: str) -> None:
    """Make and remove a temporary file in ``directory`` as ``write_atomic`` would (raises
    OSError): tried rather than inferred from mode bits, so root, read-only mounts and ACLs answer
    truly."""
    with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{name}.", suffix=".tmp"):
        pass


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise OutputError (one line) unless ``write_atomic`` can write ``path`` now: it is no
    folder, and its folder exists and takes a new file. Runs check their reports this way before
    anything is sent."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise OutputError(f"cannot write report to {target}: it is a directory")
    if not directory.is_dir():
        raise OutputError(f"cannot write report to {target}: folder {directory} does not exist")
    try:
        _try_writing(directory, target.name)
    except OSError as error:
        raise OutputError(f"cannot write report to {target}: {error.strerror or error}") from None


def last_scan_path(state_dir: str | Path | None) -> Path:
    """Where ``last-scan.json`` is kept: in ``state_dir``, else the default state directory."""
    return (Path(state_dir) if state_dir else default_state_dir()) / STATE_FILE


def make_state_dir(path: str | Path) -> None:
    """Create the state directory (private: it holds the device inventory) or say why not."""
    try:
        Path(path).mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the state directory {path}: {exc.strerror or exc}") from None


def check_state_dir(state_dir: str | Path | None) -> Path:
    """Create the state directory if need be and check a file can be written there (before a run
    sends anything); its path."""
    folder = last_scan_path(state_dir).parent
    make_state_dir(folder)
    try:
        _try_writing(folder, STATE_FILE)
    except OSError as error:
        raise OutputError(f"cannot write to the state directory {folder}: {error.strerror or error}") from None
    return folder


def save_state(result: ScanResult, state_dir: str | Path | None) -> Path:
    """Keep the result as ``last-scan.json`` (atomically) for ``camsweep explain``."""
    target = last_scan_path(state_dir)
    make_state_dir(target.parent)
    write_atomic(target, jsonio.dumps(result.to_dict(), indent=1) + "\n")
    return target


UNSTORED = "unstored"
"""Folder of the state directory where results the inventory did not take are kept."""


def keep_unstored(result: ScanResult, state_dir: str | Path | None) -> Path:
    """Write ``result`` as a file of its own in the state directory's ``unstored/``, one the
    next run does not overwrite (``last-scan.json`` is overwritten); its path."""
    folder = last_scan_path(state_dir).parent / UNSTORED
    make_state_dir(folder)
    stamp = result.finished.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    site = "".join(c if c.isalnum() or c in "-_." else "_" for c in result.site)[:40]
    path = folder / (f"{site}-{stamp}.json" if site else f"scan-{stamp}.json")
    write_atomic(path, jsonio.dumps(result.to_dict(), indent=1) + "\n")
    return path


# --------------------------------------------------------------------------- reading


def read_scan(path: str) -> ScanResult:
    """A scan saved as JSON: ``camsweep scan/identify --format json`` output, or a report JSON.

    Any malformed content raises InputFileError (one line naming the file and the place), never
    another exception.
    """
    text = jsonio.read_stdin() if path == "-" else jsonio.read_text(path)
    try:
        data: Any = jsonio.loads(text)
    except ValueError as error:
        raise InputFileError(f"{path}: not valid JSON: {error}") from None
    if isinstance(data, dict) and isinstance(data.get("scan"), dict):
        data = data["scan"]  # a report JSON carries the scan it was made from
    if not isinstance(data, dict) or "devices" not in data:
        raise InputFileError(f"{path}: not a saved scan (no 'devices'; save one with --format json)")
    try:
        return ScanResult.from_dict(data)
    except SchemaVersionError as error:
        raise SchemaVersionError(f"{path}: {error}") from None
    except InputFileError as error:
        raise InputFileError(f"{path}: not a valid saved scan: {error}") from None


def load_result(path: str | Path) -> ScanResult:
    """A saved scan the user expects to exist (``explain --scan``, ``last-scan.json``): read as
    :func:`read_scan` does, and a missing file says how to make one."""
    if not Path(path).exists():
        raise InputFileError(f"{path}: no such scan file (run `camsweep scan` first or pass --scan FILE)")
    return read_scan(str(path))
