"""``camsweep verify``: check the data files and replay every fingerprint example."""

from __future__ import annotations

import sys

import click

from ..errors import ExitCode


@click.command("verify")
@click.option("--fingerprints", "directory", type=click.Path(file_okay=False, exists=True), default=None,
              help="A fingerprint directory to check instead of the shipped one.")
def command(directory: str | None) -> None:
    """Load and validate the fingerprint, restrictions and KEV data, then replay every rule's
    examples and counter-examples (the same checks as the test suite). Exit 0 when all hold,
    2 when a file is malformed or an example does not behave."""
    from camsweep.fingerprints._verify import verify

    from .. import restrictions
    from ..verdicts import load_fingerprints

    db = load_fingerprints(directory)
    data = restrictions.load()
    problems = verify(db)
    examples = sum(len(rule.examples) + len(rule.counter_examples) for rule in db.rules)
    for problem in problems:
        click.echo(f"camsweep: {problem}", err=True)
    click.echo(f"fingerprints {db.version} (as of {db.as_of}): {len(db.rules)} rules, {examples} examples replayed, "
               f"{len(problems)} problem(s); restrictions {data.version} (as of {data.as_of})")
    sys.exit(ExitCode.USAGE if problems else ExitCode.OK)
