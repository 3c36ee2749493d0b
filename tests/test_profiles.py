"""Walking profiles: built-ins, user YAML, and the wheelchair routing around real steps."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from accessibility.core.network import Network
from accessibility.core.routing import nearest_sites, site_graph
from accessibility.errors import InputError
from accessibility.params import BUILTIN, load_profile, parse_profiles


def test_builtin_profiles_and_rules():
    ps = parse_profiles("adult,senior,wheelchair,pram")
    assert [p.name for p in ps] == ["adult", "senior", "wheelchair", "pram"]
    assert ps[0].speed(4.8) == 4.8 and ps[1].speed(4.8) < 4.8
    assert "TCRP Report 112" in ps[1].rules(4.8)["speed_source"]
    for p in ps[2:]:
        assert set(p.rules(4.8)["avoids"]) == {"steps", "wheelchair_no", "raised_kerbs"}
    assert parse_profiles(None) == [BUILTIN["adult"]]


def test_user_profile_yaml_and_errors(tmp_path):
    good = tmp_path / "rollator.yaml"
    good.write_text("name: rollator\nspeed_kmh: 3.0\navoid: [steps, raised_kerbs]\n")
    p = load_profile(str(good))
    assert (p.name, p.speed(4.8), p.avoid) == ("rollator", 3.0, ("steps", "raised_kerbs"))
    cases = {
        "name: x\nspeed_kmh: fast\n": "speed_kmh",
        "name: x\navoid: [ramps]\n": "avoid",
        "speed_kmh: 3\n": "name",
        "name: x\ncolour: red\n": "unknown key",
        "- a\n- b\n": "mapping",
        "name: [unclosed\n": "YAML",
        "!!python/object/apply:os.system ['true']\n": "YAML",  # safe_load refuses it
    }
    for i, (text, what) in enumerate(cases.items()):
        f = tmp_path / f"bad{i}.yaml"
        f.write_text(text)
        with pytest.raises(InputError, match=what) as e:
            load_profile(str(f))
        assert f.name in str(e.value)
    with pytest.raises(InputError, match="unknown profile"):
        parse_profiles("adult,jogger")
    with pytest.raises(InputError, match="twice"):
        parse_profiles("adult,adult")


def _graph(net: Network) -> nx.Graph:
    g = nx.Graph()
    for a, b, w, way in zip(net.u.tolist(), net.v.tolist(), net.length.tolist(),
                            net.way_id.tolist(), strict=True):  # fmt: skip
        g.add_edge(a, b, length=w, way=way)
    return g


def test_wheelchair_routes_around_real_steps(kl_extract):
    """A real highway=steps way in Kaiserslautern: adults take it, wheelchairs go round."""
    adult = Network.from_extract(kl_extract)
    wheel = Network.from_extract(kl_extract, crs=adult.crs, profile=BUILTIN["wheelchair"])
    seg = kl_extract.segments
    steps_ways = set(seg.loc[seg["highway"] == "steps", "way_id"])
    assert steps_ways and not steps_ways & set(wheel.way_id.tolist())
    assert wheel.meta["profile_segments_dropped"] >= (seg["highway"] == "steps").sum()
    g_adult, g_wheel = _graph(adult), _graph(wheel)
    pos_w = {tuple(xy): i for i, xy in enumerate(wheel.node_xy.tolist())}
    found = 0
    rng = np.random.default_rng(1)
    main = adult.components() == 0
    for e in rng.permutation(np.flatnonzero(np.isin(adult.way_id, list(steps_ways)))):
        a, b = int(adult.u[e]), int(adult.v[e])
        if not main[a]:
            continue
        # two points 30 m beyond each end of the steps, on the adult network
        la = nx.single_source_dijkstra_path_length(g_adult, a, cutoff=30, weight="length")
        lb = nx.single_source_dijkstra_path_length(g_adult, b, cutoff=30, weight="length")
        s, t = max(la, key=la.get), max(lb, key=lb.get)
        path = nx.dijkstra_path(g_adult, s, t, weight="length")
        if not any(
            g_adult[p][q]["way"] in steps_ways for p, q in zip(path, path[1:], strict=False)
        ):
            continue
        ws, wt = pos_w.get(tuple(adult.node_xy[s])), pos_w.get(tuple(adult.node_xy[t]))
        if ws is None or wt is None or wheel.components()[ws] != wheel.components()[wt]:
            continue
        # our routing on both networks: a site at s, a resident at t (on their nodes)
        d = []
        for net, i, j in ((adult, s, t), (wheel, ws, wt)):
            ss = net.snap(net.node_xy[[i]])
            rs = net.snap(net.node_xy[[j]])
            d.append(nearest_sites(net, site_graph(net, ss), rs)[0][0])
        assert d[1] > d[0] + 1.0
        wpath = nx.dijkstra_path(g_wheel, ws, wt, weight="length")
        assert not any(
            g_wheel[p][q]["way"] in steps_ways for p, q in zip(wpath, wpath[1:], strict=False)
        )
        assert nx.path_weight(g_wheel, wpath, "length") == pytest.approx(d[1], abs=1e-6)
        found += 1
        if found == 3:
            break
    assert found == 3
