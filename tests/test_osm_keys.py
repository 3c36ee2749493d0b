"""One definition of what an extract must contain (osm_keys)."""

from __future__ import annotations

from accessibility.inputs.osm_keys import BASE_FEATURE_KEYS, feature_keys, is_feature
from accessibility.inputs.presets import load_presets


def test_packaged_presets_keys_cover_every_required_rule_key():
    presets = load_presets(None)
    keys = set(feature_keys(presets))
    assert set(BASE_FEATURE_KEYS) <= keys
    for body in presets["categories"].values():
        for rule in body["match"]:
            required = [
                k for k, v in rule.items()
                if k != "osm_type" and v is not None and not (isinstance(v, list) and None in v)
            ]  # fmt: skip
            # every rule names at least one required key, and all of them are fetched
            assert required
            assert set(required) <= keys


def test_user_presets_add_their_keys_and_optional_keys_stay_out(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(
        "categories:\n"
        "  museum:\n"
        "    label_de: Museum\n"
        "    label_en: Museum\n"
        '    match:\n      - {tourism: "*", fee: [null, "no"]}\n',
        encoding="utf-8",
    )
    keys = feature_keys(load_presets(f))
    assert "tourism" in keys
    assert "fee" not in keys  # absent-or-no does not require the key
    assert is_feature({"tourism": "museum"}, keys)
    assert not is_feature({"highway": "footway", "fee": "no"}, keys)
