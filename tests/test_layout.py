"""The design card's top level exists in a clean clone, and the distribution's import packages import."""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = ["cti", "ivr", "backend", "agent_ui", "scripts_tpl", "asterisk_conf", "docker-compose.yml", "tests",
             "bench", "pyproject.toml", "Makefile", "README.md", ".ci/run"]


def test_given_the_repository_when_listing_tracked_files_then_every_design_card_entry_is_there() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for entry in TOP_LEVEL:
        assert any(f == entry or f.startswith(entry + "/") for f in tracked), f"{entry} is not committed"


def test_given_the_distribution_when_importing_its_packages_then_each_has_a_docstring() -> None:
    for name in ("backend", "cti", "ivr", "agent_ui"):
        module = importlib.import_module(name)
        assert module.__doc__ and len(module.__doc__) > 20, name


def test_given_callback_script_when_rendered_sandboxed_then_all_seven_confirmations_appear() -> None:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    text = env.from_string((ROOT / "scripts_tpl" / "new_policy_callback.md.j2").read_text()).render(
        customer={"name": "王小明", "gender": "M"}, agent={"display_name": "李坐席"},
        company={"name": "联络保险", "hotline": "95500"}, cooling_off_days=15,
        policy={"policy_number": "P000000000001", "product_name": "鑫享年金", "signed_date": "2026-11-20",
                "sum_insured": "100000.00", "premium": "12000.00", "payment_frequency_label": "年交",
                "payment_years": 10},
    )
    for heading in ("一、", "二、", "三、", "四、", "五、", "六、", "七、"):
        assert heading in text
    assert "王先生" in text and "P000000000001" in text and "15 天" in text
