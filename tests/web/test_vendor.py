"""The vendored front-end assets are the files the README records, and no page links another origin."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
VENDOR = WEB / "static" / "vendor"


def _recorded() -> dict[str, str]:
    rows = re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", (VENDOR / "README.md").read_text(), re.M)
    return dict(rows)


def test_every_vendored_script_is_recorded_with_its_hash_and_licence():
    recorded = _recorded()
    scripts = sorted(str(path.relative_to(VENDOR)) for path in VENDOR.rglob("*.js"))
    assert scripts == sorted(recorded) == ["echarts/echarts.min.js", "htmx/htmx.min.js"]
    for name, digest in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
        assert (VENDOR / name).parent.joinpath("LICENSE").is_file()


@pytest.mark.parametrize(
    "path",
    sorted(p for p in WEB.rglob("*") if p.suffix in {".html", ".js", ".css"} and "vendor" not in p.parts),
    ids=str,
)
def test_our_templates_and_assets_load_nothing_from_another_origin(path):
    text = path.read_text()
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", text), path
