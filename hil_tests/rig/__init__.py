"""Rig model, resources and drivers of the HIL suite (labgrid-style: resources say where a
thing is, drivers say how to use it; one class per module)."""
