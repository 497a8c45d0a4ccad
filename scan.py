#!/usr/bin/env python3
"""Run camsweep from this checkout: ``python3 scan.py --help`` (the same as the installed ``camsweep``).

pyproject.toml builds the one import package ``camsweep`` from the card's folders (``scanner/`` is
the package, ``fingerprints/`` and ``reports/`` its subpackages). A checkout has no ``camsweep``
folder, so this script maps the folders the same way before it imports the CLI: it always runs
the code that sits beside it, installed or not.
"""

import importlib.util
import sys
from pathlib import Path

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location(
        "camsweep", here / "scanner" / "__init__.py",
        # scanner/ holds camsweep's own modules; the checkout root holds fingerprints/ and reports/.
        submodule_search_locations=[str(here / "scanner"), str(here)],
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules["camsweep"] = package
    spec.loader.exec_module(package)

    from camsweep.cli import main

    main()
