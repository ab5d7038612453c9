"""Front-end packages from the npm registry reach the pages from our own origin, and nothing else of node_modules."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page

from agent_ui import vendor
from tests.browser.conftest import LiveApp, Screenshots

ECHARTS = f"{vendor.URL_PREFIX}/echarts/echarts.esm.min.js"
INSTALL_HINT = "front-end packages not installed: run `bash tests/setup/node.sh` (make test does)"


def test_given_package_json_when_read_then_each_dependency_is_pinned_by_the_lock_file() -> None:
    manifest = json.loads(vendor.PACKAGE_JSON.read_text(encoding="utf-8"))
    lock = json.loads((vendor.PACKAGE_JSON.parent / "package-lock.json").read_text(encoding="utf-8"))
    assert "echarts" in manifest["dependencies"]
    assert lock["packages"][""]["dependencies"] == manifest["dependencies"]
    for name, version in manifest["dependencies"].items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name  # exact versions only
    assert set(vendor.packages()) == set(manifest["dependencies"])


def test_given_package_name_that_climbs_out_when_listed_then_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "package.json"
    manifest.write_text(json.dumps({"dependencies": {"../../etc": "1.0.0"}}), encoding="utf-8")
    with pytest.raises(ValueError, match="unexpected npm package name"):
        vendor.packages(manifest, tmp_path / "node_modules")


async def test_given_installed_packages_when_fetched_then_only_listed_dist_files_are_served(
        live_app: LiveApp) -> None:
    assert (vendor.NODE_MODULES / "echarts" / "dist" / "echarts.esm.min.js").is_file(), INSTALL_HINT
    async with httpx.AsyncClient(base_url=live_app.url) as client:
        r = await client.get(ECHARTS)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/javascript")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "export" in r.text[-2000:]  # an ES module the pages can import
        # echarts' own dependencies are bundled into its dist file and are not served, nor is anything
        # outside a listed package's dist/ folder.
        for path in (f"{vendor.URL_PREFIX}/zrender/package.json", f"{vendor.URL_PREFIX}/tslib/tslib.js",
                     f"{vendor.URL_PREFIX}/echarts/%2e%2e/package.json", f"{vendor.URL_PREFIX}/.package-lock.json",
                     "/static/node_modules/echarts/package.json"):
            assert (await client.get(path)).status_code == 404, path


async def test_given_login_page_csp_when_page_imports_echarts_then_chinese_chart_draws(
        page: Page, shots: Screenshots) -> None:
    assert (vendor.NODE_MODULES / "echarts" / "dist" / "echarts.esm.min.js").is_file(), INSTALL_HINT
    await page.goto("/login")  # the pages' strict Content-Security-Policy applies to the import
    drawn = await page.evaluate("""async (url) => {
      const echarts = await import(url);
      const box = document.createElement("div");
      box.style.width = "480px";
      box.style.height = "240px";
      document.body.prepend(box);
      const chart = echarts.init(box, null, { renderer: "canvas" });
      chart.setOption({
        animation: false,
        title: { text: "排队来电" },
        xAxis: { type: "category", data: ["投诉", "咨询", "理赔报案"] },
        yAxis: { type: "value" },
        series: [{ type: "bar", data: [5, 3, 2] }],
      });
      const canvas = box.querySelector("canvas");
      return { version: echarts.version, width: canvas ? canvas.width : 0 };
    }""", ECHARTS)
    assert drawn["version"].split(".")[0] == "6"
    assert drawn["width"] > 0
    await shots.take(page, "echarts-under-csp")
    assert page.errors.messages == []  # type: ignore[attr-defined]
