"""``python -m camsweep`` runs the camsweep CLI (used to start scans inside lab namespaces)."""

from .cli import main

main()
