"""Mini test runner for the MicroPython VM (no unittest/pytest there).

hostio.arg() is a JSON list of module names; every ``test_*`` function in them runs and
one line ``MPTEST {"name": ..., "ok": ..., "error": ...}`` is printed per test, which
tests/firmware/test_on_micropython.py turns into pytest results.
"""

import io
import json
import sys

import hostio

for modname in json.loads(hostio.arg()):
    mod = __import__(modname)
    for name in sorted(dir(mod)):
        if not name.startswith("test_"):
            continue
        fn = getattr(mod, name)
        try:
            fn()
            print("MPTEST " + json.dumps({"name": modname + "." + name, "ok": True}))
        except Exception as exc:  # report and go on with the next test
            buf = io.StringIO()
            sys.print_exception(exc, buf)
            print("MPTEST " + json.dumps({"name": modname + "." + name, "ok": False,
                                          "error": buf.getvalue()}))
