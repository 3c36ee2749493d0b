"""The OSM foot access hierarchy: a table of tag cases (ways and barrier nodes) and real data."""

from __future__ import annotations

import numpy as np
import pytest

from accessibility.core.network import Network
from accessibility.inputs.osm import is_walkable, read_osm

# (way tags, walkable?) - osmnx's walk filter decides the highway class, then foot > access
WAY_CASES = [
    ({"highway": "footway"}, True),
    ({"highway": "residential"}, True),
    ({"highway": "service", "access": "no"}, False),
    ({"highway": "service", "access": "no", "foot": "yes"}, True),
    ({"highway": "service", "access": "no", "foot": "designated"}, True),
    ({"highway": "service", "access": "no", "foot": "permissive"}, True),
    ({"highway": "service", "access": "private"}, False),
    ({"highway": "service", "access": "private", "foot": "yes"}, True),  # osmnx drops it
    ({"highway": "residential", "foot": "no"}, False),
    ({"highway": "residential", "access": "yes", "foot": "private"}, False),
    ({"highway": "residential", "access": "no", "foot": "no"}, False),
    ({"highway": "footway", "access": "No "}, False),  # values are compared trimmed, any case
    ({"highway": "service", "access": "destination"}, True),
    ({"highway": "service", "access": "customers"}, True),
    ({"highway": "track", "access": "agricultural"}, True),
    ({"highway": "footway", "access": "permissive"}, True),
    # conditional restrictions are not evaluated: the plain value decides
    ({"highway": "corridor", "access": "no", "access:conditional": "yes @ (07:00-24:00)"}, False),
    ({"highway": "corridor", "access:conditional": "no @ (22:00-06:00)"}, True),
    # classes osmnx excludes stay excluded whatever foot=* says
    ({"highway": "motorway", "foot": "yes"}, False),
    ({"highway": "cycleway", "foot": "designated"}, False),
    ({"highway": "pedestrian", "area": "yes"}, False),
    ({"highway": "primary", "sidewalk": "separate"}, False),
]

# (barrier node tags, passable?) - the same rule on a node of a walkable way
BARRIER_CASES = [
    ({"barrier": "gate"}, True),
    ({"barrier": "bollard"}, True),
    ({"barrier": "gate", "access": "private"}, False),
    ({"barrier": "gate", "access": "no"}, False),
    ({"barrier": "gate", "foot": "no"}, False),
    ({"barrier": "gate", "access": "no", "foot": "yes"}, True),
    ({"barrier": "gate", "access": "private", "foot": "permissive"}, True),
    ({"barrier": "lift_gate", "access": "no", "foot": "designated"}, True),
    ({"access": "no"}, True),  # not a barrier: a tagged node alone does not block
    ({"barrier": "kerb", "kerb": "raised"}, True),  # walkers pass kerbs (profiles may not)
]


@pytest.mark.parametrize(("tags", "walkable"), WAY_CASES)
def test_way_access_table(tags, walkable):
    assert is_walkable(tags) is walkable


def _osm_xml(way_tags: dict, node_tags: dict) -> str:
    def tags(d):
        return "".join(f"<tag k='{k}' v='{v}'/>" for k, v in d.items())

    nodes = "".join(
        f"<node id='{i}' lat='49.0' lon='{7 + i * 0.0005:.4f}'>{tags(node_tags) if i == 2 else ''}</node>"
        for i in (1, 2, 3)
    )
    way = f"<way id='10'><nd ref='1'/><nd ref='2'/><nd ref='3'/>{tags(way_tags)}</way>"
    return f"<?xml version='1.0'?><osm version='0.6'>{nodes}{way}</osm>"


@pytest.mark.parametrize(("tags", "passable"), BARRIER_CASES)
def test_barrier_access_table(tags, passable, tmp_path):
    path = tmp_path / "barrier.osm"
    path.write_text(_osm_xml({"highway": "footway"}, tags))
    net = Network.from_extract(read_osm(path, use_cache=False))
    assert net.n_edges == 2
    comp = net.components()
    ends = [comp[np.flatnonzero(net.node_osmid == i)[0]] for i in (1, 3)]
    assert bool(ends[0] == ends[1]) is passable
    # a closed barrier is split: one copy of node 2 per incident edge, each a dead end
    assert int((net.node_osmid == 2).sum()) == (1 if passable else 2)


@pytest.fixture(scope="module")
def malta():
    from accessibility.config import shared_data_dir
    from accessibility.core.network import load_network

    path = shared_data_dir() / "extracts" / "malta-2016-11.osm.pbf"
    if not path.exists():
        pytest.skip(f"Malta extract not found at {path}")
    return path, load_network(path)


def _closed(tags) -> bool:
    """Independent statement of the rule for the real-data check."""
    value = tags.get("foot", tags.get("access"))
    return value is not None and value.strip().lower() in ("no", "private")


def test_real_data_access_on_malta(malta):
    """Every way and barrier of the whole Malta extract, read with plain pyosmium."""
    import osmium
    from osmnx import _overpass

    path, net = malta
    walk = _overpass._get_network_filter("walk")
    ways, barriers = {}, {}
    for o in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
        if o.is_way() and "highway" in o.tags:
            ways[o.id] = dict(o.tags)
        elif o.is_node() and "barrier" in o.tags:
            barriers[o.id] = dict(o.tags)
    used = set(np.unique(net.way_id).tolist())
    # no edge comes from a way the hierarchy closes
    assert not any(_closed(ways[w]) for w in used)
    closed_ways = [
        w
        for w, t in ways.items()
        if _closed(t) and t["highway"] in ("service", "footway", "path", "track", "residential")
    ]
    assert len(closed_ways) > 50 and not used & set(closed_ways)
    # foot=* overrides access=*: ways osmnx alone would drop are in the network
    opened = [w for w, t in ways.items() if t.get("access") in ("private", "no")
              and t.get("foot") in ("yes", "designated", "permissive")]  # fmt: skip
    assert opened and set(opened) & used
    assert '["access"!~"private"]' in walk  # (osmnx's own filter drops them)
    # closed barriers on the network are split: every copy is a dead end
    deg = np.bincount(np.concatenate([net.u, net.v]), minlength=net.n_nodes)
    closed_b = [n for n, t in barriers.items() if _closed(t)]
    on_net = [n for n in closed_b if (net.node_osmid == n).any()]
    assert len(on_net) >= 5
    for n in on_net:
        assert (deg[net.node_osmid == n] == 1).all()
    open_b = [n for n, t in barriers.items() if not _closed(t) and (net.node_osmid == n).any()]
    assert open_b and all((net.node_osmid == n).sum() == 1 for n in open_b)
