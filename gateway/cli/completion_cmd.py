"""``edgepost completion SHELL``: print a tab-completion script for bash, zsh or tcsh.

Why static scripts (``shtab``) rather than completion that calls back into Python: a tab
press on a Pi would otherwise start the interpreter and import the CLI each time (a second
or more); the script is generated from the same argparse parser, so it cannot drift from
the commands.
"""

from __future__ import annotations

import argparse
import sys

SHELLS = ("bash", "zsh", "tcsh")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``completion``."""
    p = sub.add_parser(
        "completion", help="print a shell completion script (bash, zsh, tcsh)",
        description="Print a tab-completion script for edgepost. Install it once, e.g. bash: "
        "`edgepost completion bash | sudo tee /etc/bash_completion.d/edgepost` (or into "
        "~/.local/share/bash-completion/completions/edgepost); zsh: `edgepost completion zsh "
        "> \"${fpath[1]}/_edgepost\"`. Open a new shell afterwards.")
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    p.set_defaults(func=cmd_completion)


def cmd_completion(args: argparse.Namespace) -> int:
    try:
        import shtab
    except ImportError:
        print("edgepost: shell completion needs the shtab package: pip install shtab",
              file=sys.stderr)
        return 1
    from gateway.cli.main import build_parser

    sys.stdout.write(shtab.complete(build_parser(), shell=args.shell))
    return 0
