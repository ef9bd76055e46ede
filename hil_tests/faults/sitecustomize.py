"""Fault injection for the break-it demonstrations of docs/hil.md (never used in CI).

The gateway driver puts this folder on the gateway process's PYTHONPATH only when
``HIL_FAULT`` is set; Python then imports it at start-up and it breaks one behaviour on
purpose, so a scenario can show that it fails when that behaviour is broken:

  HIL_FAULT=drop_pir_alarms   node PIR alarms never become events       -> test_pir_alarm
  HIL_FAULT=no_replay         after a (re)connect the uplink skips what  -> test_broker_outage,
                              waits in the spool (sends only new events)    test_gateway_power_cut
  HIL_FAULT=camera_no_reopen  a camera that fails to open is given up    -> test_camera_replug
  HIL_FAULT=seq_not_persisted (node firmware, applied in the VM by        -> test_node_power_cut
                              hil_tests/sim/sim_node.py) the seq ceiling
                              is never written to flash

Product code is not changed: the patches live here and in the gateway process only.
"""

import logging
import os

_fault = os.environ.get("HIL_FAULT", "")
_log = logging.getLogger("hil.fault")


def _drop_pir_alarms() -> None:
    from gateway.service import sensor_events as se

    original = se.node_alarm

    def node_alarm(a):  # type: ignore[no-untyped-def]
        return None if a.kind == "motion" else original(a)

    se.node_alarm = node_alarm


def _no_replay() -> None:
    from gateway.uplink import publisher

    cls = next(v for v in vars(publisher).values()
               if isinstance(v, type) and hasattr(v, "_on_connect") and hasattr(v, "_feed"))
    original = cls._on_connect

    def _on_connect(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        self._cursor = self.spool.stats().last_seq  # BUG: forget the backlog

    cls._on_connect = _on_connect


def _camera_no_reopen() -> None:
    from gateway.camera import resilient
    from gateway.camera.frame import SourceError

    original = resilient.ResilientSource.open

    def open_(self):  # type: ignore[no-untyped-def]
        if getattr(self, "_ever_opened", False):
            self.health.gave_up = True
            raise SourceError(f"camera {self.name}: gave up (HIL_FAULT)")
        return original(self)

    resilient.ResilientSource.open = open_


_FAULTS = {"drop_pir_alarms": _drop_pir_alarms, "no_replay": _no_replay,
           "camera_no_reopen": _camera_no_reopen}
if _fault in _FAULTS:
    _FAULTS[_fault]()
