"""The district's grid cells (a GeoJSON file: cell id → polygon) and point-in-cell lookup.

Why shapely: point-in-polygon with holes, multipolygons and cells sharing edges is easy to get
subtly wrong by hand; shapely (GEOS) is the maintained implementation, and its STRtree keeps a
lookup among the district's ~5,200 cells at a few microseconds, cheap enough for every event.

Contract: :func:`load_grid` either returns a usable grid or raises :class:`GridFileError` with
one line saying what to fix; :meth:`Grid.cell_at` never raises and returns ``None`` outside
every cell. GeoJSON positions are ``[longitude, latitude]`` (RFC 7946); a point on an edge
shared by two cells goes to the cell whose id sorts first, so the answer is stable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.strtree import STRtree

POLYGON_TYPES = ("Polygon", "MultiPolygon")


class GridFileError(ValueError):
    """The grid file can't be used; the text names the file, the feature and what to fix."""


@dataclass(frozen=True)
class Cell:
    """One grid cell: its id, polygon and centre (for the UI)."""

    id: str
    geometry: Any
    centre: tuple[float, float]  # (lat, lon)


class Grid:
    """Grid cells with a spatial index."""

    def __init__(self, cells: list[Cell]) -> None:
        self.cells = sorted(cells, key=lambda c: c.id)
        self._tree = STRtree([c.geometry for c in self.cells])
        for c in self.cells:
            shapely.prepare(c.geometry)  # repeated point tests against the same polygons

    def __len__(self) -> int:
        return len(self.cells)

    def cell_at(self, lat: float | None, lon: float | None) -> str | None:
        """The id of the cell containing (lat, lon), or None (no position, or outside the grid)."""
        if lat is None or lon is None:
            return None
        point = Point(lon, lat)
        # candidates by bounding box, then the exact test (covers: edges count as inside)
        for i in sorted(self._tree.query(point)):
            if self.cells[i].geometry.covers(point):
                return self.cells[i].id
        return None

    def outline(self) -> list[dict[str, Any]]:
        """Cells for the API: id, centre and exterior ring(s) as [lat, lon] pairs."""
        out = []
        for c in self.cells:
            polys = list(c.geometry.geoms) if c.geometry.geom_type == "MultiPolygon" else [c.geometry]
            out.append({"cell": c.id, "lat": c.centre[0], "lon": c.centre[1],
                        "rings": [[[round(y, 6), round(x, 6)] for x, y in p.exterior.coords] for p in polys]})
        return out


def load_grid(path: Path, id_property: str = "id") -> Grid:
    """Read a GeoJSON FeatureCollection of (Multi)Polygons; each feature's cell id is the
    property ``id_property`` or, failing that, the feature's own ``id``."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise GridFileError(f"cannot read the grid file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise GridFileError(f"{path} is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise GridFileError(f"{path}: expected a GeoJSON FeatureCollection of cell polygons")
    cells: list[Cell] = []
    seen: set[str] = set()
    for n, feat in enumerate(doc.get("features") or []):
        where = f"{path}: feature {n}"
        if not isinstance(feat, dict):
            raise GridFileError(f"{where} is not a GeoJSON Feature object")
        props = feat.get("properties") or {}
        cid = props.get(id_property, feat.get("id")) if isinstance(props, dict) else feat.get("id")
        if cid is None or str(cid) == "":
            raise GridFileError(f"{where} has no cell id: give it properties.{id_property} or an id")
        cid = str(cid)
        if cid in seen:
            raise GridFileError(f"{where}: cell id {cid!r} appears twice; cell ids must be unique")
        geom_doc = feat.get("geometry")
        if not isinstance(geom_doc, dict) or geom_doc.get("type") not in POLYGON_TYPES:
            raise GridFileError(f"{where} (cell {cid!r}) is not a Polygon or MultiPolygon")
        try:
            geom = shape(geom_doc)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raise GridFileError(f"{where} (cell {cid!r}) has malformed coordinates: {exc}") from None
        if geom.is_empty or not geom.is_valid:
            raise GridFileError(f"{where} (cell {cid!r}) is not a valid polygon "
                                f"({shapely.is_valid_reason(geom)}); fix it in a GIS tool")
        c = geom.representative_point()
        cells.append(Cell(cid, geom, (c.y, c.x)))
        seen.add(cid)
    if not cells:
        raise GridFileError(f"{path}: no cells in the file")
    return Grid(cells)
