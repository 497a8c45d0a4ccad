"""camsweep's exceptions and the process exit codes they map to.

    CamsweepError                  any error camsweep reports as one clear line
    ├── UsageError                 bad command-line input (target, method, option)       exit 2
    ├── ConfigError                bad config or credentials file                          exit 2
    ├── DataFileError              a fingerprint/restriction data file is malformed        exit 2
    ├── InputFileError             an observation/capture file is unreadable or invalid    exit 2
    │   └── SchemaVersionError     ... written by a different schema version               exit 2
    ├── PrivilegeError             an operation needs root / CAP_NET_RAW / namespaces      exit 2
    ├── OutputError                a report/database path cannot be written                exit 2
    ├── InventoryError             the scan database is corrupt or from a newer version    exit 2
    └── ScanError                  the scan itself failed                                  exit 5

Bad replies from devices are never exceptions that reach the user: probes record them as
observations with a ``problem`` and go on.
"""

from __future__ import annotations

from collections.abc import Iterable


class ExitCode:
    """Documented process exit codes (README "Exit codes")."""

    OK = 0  # finished; no restricted device found
    CRASH = 1  # reserved for Python's own uncaught errors (a bug in camsweep)
    USAGE = 2  # usage, configuration or data error; nothing was sent
    RESTRICTED = 3  # finished; at least one device falls under the chosen policy
    NEW_RESTRICTED = 4  # with --fail-on new: a restricted device not in the previous scan
    SCAN_FAILED = 5  # the scan could not run (e.g. interface vanished, lock held), or was not stored
    PARTIAL = 6  # interrupted or input only partly readable; results kept, marked partial


class CamsweepError(Exception):
    exit_code = ExitCode.USAGE


class UsageError(CamsweepError):
    pass


class ConfigError(CamsweepError):
    pass


class DataFileError(CamsweepError):
    """A shipped or user-supplied data file is malformed; names the file, entry and problem."""

    def __init__(self, path: str, problem: str, entry: str | None = None) -> None:
        self.path = path
        self.entry = entry
        self.problem = problem
        where = f"{path}: {entry}: " if entry else f"{path}: "
        super().__init__(where + problem)


class InputFileError(CamsweepError):
    pass


class SchemaVersionError(InputFileError):
    pass


class PrivilegeError(CamsweepError):
    pass


class OutputError(CamsweepError):
    pass


class InventoryError(CamsweepError):
    pass


class ScanError(CamsweepError):
    exit_code = ExitCode.SCAN_FAILED


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'uk-gov'?)`` for a mistyped choice, or ``""``: the names ``value`` is a
    part of (``uk`` -> ``uk-gov``, up to three), else the closest spelling (``jsno`` -> ``json``)."""
    import difflib

    options = list(choices)
    word = value.strip().lower()
    close = [c for c in options if word and word in c.lower().split("-")] if word else []
    close = close or difflib.get_close_matches(word, options, n=1)
    if not close or len(close) > 3:
        return ""
    quoted = [repr(c) for c in close]
    return f" (did you mean {' or '.join(quoted) if len(quoted) < 3 else ', '.join(quoted[:-1]) + ' or ' + quoted[-1]}?)"
