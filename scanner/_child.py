"""Start a camsweep module in a child Python that imports *this* camsweep.

The package is built from the card's folders (``scanner/`` is ``camsweep``), so a checkout run
through ``scan.py`` has no ``camsweep`` folder a child could find on ``PYTHONPATH``. The child
therefore loads the package from the same files as its parent, installed or not.
"""

from __future__ import annotations

import sys


def python_command(module: str, *args: str) -> list[str]:
    """``[python, -c, ...]`` that runs ``module`` as ``__main__`` with ``args`` as its argv."""
    import camsweep

    init = camsweep.__file__
    paths = list(camsweep.__path__)
    code = (
        "import importlib.util, runpy, sys\n"
        f"spec = importlib.util.spec_from_file_location('camsweep', {init!r}, submodule_search_locations={paths!r})\n"
        "package = importlib.util.module_from_spec(spec); sys.modules['camsweep'] = package\n"
        "spec.loader.exec_module(package)\n"
        f"sys.argv[0] = {module!r}\n"
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
    )
    return [sys.executable, "-c", code, *args]
