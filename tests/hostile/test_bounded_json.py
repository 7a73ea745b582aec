"""bounded_json: depth is measured without recursion, and brackets inside strings do not count."""

import sys

import pytest

from tensorflowjs import bounded_json
from tensorflowjs.errors import ConversionError


@pytest.mark.parametrize(
    "text, depth",
    [(b"1", 0), (b"[]", 1), (b'{"a": [1, {"b": 2}]}', 3), (b'{"name": "dense[[[{{{", "x": "\\"]]]"}', 1), (b'["\\\\", [["\\\\\\"["]]]', 3)],
)
def test_nesting_depth_ignores_brackets_in_strings(text, depth):
    assert bounded_json.nesting_depth(text) == depth


def test_deep_json_is_one_error_not_a_recursion_error():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ConversionError, match="100000 levels deep"):
        bounded_json.loads(deep, "x.json")


def test_the_limit_itself_parses():
    limit = bounded_json.MAX_DEPTH
    assert bounded_json.loads("[" * limit + "]" * limit, "x.json") == eval("[" * limit + "]" * limit)


def test_too_big_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(bounded_json, "MAX_BYTES", 10)
    (tmp_path / "big.json").write_text("[" + "1," * 20 + "1]")
    with pytest.raises(ConversionError, match="bytes"):
        bounded_json.read(str(tmp_path / "big.json"), "big.json")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
