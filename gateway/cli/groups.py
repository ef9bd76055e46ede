"""How a command group (``edgepost gateway``, ``edgepost plates``, ...) registers its parser.

Why a helper: every group adds a parser, remembers it so that ``edgepost GROUP`` alone prints
the group's help (see ``main``), and opens a sub-command list titled the same way; written once
here, a group module states only its name, its one-line help and its description.
"""

from __future__ import annotations

import argparse


def command_group(sub: argparse._SubParsersAction, name: str, summary: str,  # type: ignore[type-arg]
                  description: str | None = None,
                  ) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:  # type: ignore[type-arg]
    """The group's parser and its sub-command list (``title="NAME commands"``, ``COMMAND``)."""
    p = sub.add_parser(name, help=summary, description=description)
    p.set_defaults(group_parser=p)  # `edgepost NAME` with no command prints this parser's help
    return p, p.add_subparsers(title=f"{name} commands", metavar="COMMAND")
