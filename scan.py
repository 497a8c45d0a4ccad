#!/usr/bin/env python3
"""Run camsweep from a checkout: ``python scan.py --help`` (same as the installed ``camsweep``)."""

from scanner.cli import main

if __name__ == "__main__":
    main()
