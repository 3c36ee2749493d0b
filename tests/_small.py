"""Small synthetic OSM networks and inputs near Kaiserslautern for fast CLI tests.

The shapes are what matter here (a grid, a single street, a tree); they are written as
plain OSM XML so the full reading pipeline runs on them.
"""

from __future__ import annotations

from pathlib import Path

LAT0, LON0 = 49.4440, 7.7690
DLAT, DLON = 0.0009, 0.00138  # about 100 m each way


def _xml(nodes: dict[int, tuple[float, float]], ways: list[list[int]], tags=None) -> str:
    out = ["<?xml version='1.0' encoding='UTF-8'?>", "<osm version='0.6' generator='test'>"]
    for i, (lat, lon) in nodes.items():
        out.append(f"<node id='{i}' version='1' lat='{lat:.7f}' lon='{lon:.7f}'/>")
    for k, w in enumerate(ways, start=1):
        out.append(f"<way id='{k}' version='1'>")
        out += [f"<nd ref='{n}'/>" for n in w]
        for key, val in (tags or {"highway": "residential"}).items():
            out.append(f"<tag k='{key}' v='{val}'/>")
        out.append("</way>")
    out.append("</osm>")
    return "\n".join(out) + "\n"


def grid_osm(path: Path, n: int = 6) -> Path:
    """An n × n street grid (100 m blocks): enclosed blocks everywhere."""
    nodes = {r * n + c + 1: (LAT0 + r * DLAT, LON0 + c * DLON) for r in range(n) for c in range(n)}
    ways = [[r * n + c + 1 for c in range(n)] for r in range(n)]
    ways += [[r * n + c + 1 for r in range(n)] for c in range(n)]
    path.write_text(_xml(nodes, ways), encoding="utf-8")
    return path


def line_osm(path: Path, n: int = 8) -> Path:
    """One straight street (a one-way network: no block, no cycle)."""
    nodes = {i + 1: (LAT0, LON0 + i * DLON) for i in range(n)}
    path.write_text(_xml(nodes, [list(nodes)], {"highway": "residential", "oneway": "yes"}))
    return path


def tree_osm(path: Path) -> Path:
    """A tree-shaped network: a trunk with side streets, no cycle."""
    nodes = {i + 1: (LAT0, LON0 + i * DLON) for i in range(6)}
    ways = [list(nodes)]
    k = 100
    for i in (1, 3, 5):
        branch = []
        for j in range(1, 4):
            nodes[k] = (LAT0 + j * DLAT, LON0 + (i - 1) * DLON)
            branch.append(k)
            k += 1
        ways.append([i, *branch])
    path.write_text(_xml(nodes, ways), encoding="utf-8")
    return path


def sites_csv(path: Path, rows: list[tuple[str, str, float, float]] | None = None) -> Path:
    """Sites CSV name,category,lat,lon (default: two sites on the grid)."""
    rows = rows or [
        ("Stadtbibliothek", "library", LAT0 + 2 * DLAT, LON0 + 2 * DLON),
        ("Beratung Mitte", "advice_centre", LAT0 + 4 * DLAT, LON0 + 3 * DLON),
    ]
    text = "name,category,lat,lon\n" + "".join(
        f'"{n.replace(chr(34), chr(34) * 2)}",{c},{la:.7f},{lo:.7f}\n' for n, c, la, lo in rows
    )
    path.write_text(text, encoding="utf-8")
    return path


def population_csv(path: Path, n: int = 5, per_point: float = 12.0) -> Path:
    """Resident points lat,lon,einwohner in the middle of each grid block."""
    lines = ["lat,lon,einwohner"]
    for r in range(n):
        for c in range(n):
            lat, lon = LAT0 + (r + 0.5) * DLAT, LON0 + (c + 0.5) * DLON
            lines.append(f"{lat:.7f},{lon:.7f},{per_point + r + c:g}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def analyze_args(tmp: Path, osm: Path | None = None, sites: Path | None = None,
                 population: Path | None = None) -> list[str]:  # fmt: skip
    """CLI arguments of `analyze` on the small grid (files created in ``tmp``)."""
    osm = osm or grid_osm(tmp / "grid.osm")
    sites = sites or sites_csv(tmp / "sites.csv")
    population = population or population_csv(tmp / "pop.csv")
    return ["analyze", "--network", str(osm), "--sites", str(sites), "--population",
            str(population), "--population-column", "einwohner", "--minutes", "2,4"]  # fmt: skip
