"""The ``edgepost`` command line: one module per subcommand group.

Each module exposes ``add_parser(subparsers)``, which adds its group and sets
``func`` on every leaf parser; ``func(args) -> int`` is the exit status.
"""
