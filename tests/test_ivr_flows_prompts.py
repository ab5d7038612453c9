"""The prompt catalogue and the audio generation: which prompts are (re)generated, which recordings
are kept; with stand-in tools always, and with the real espeak-ng and sox when installed."""

from __future__ import annotations

import shutil
import sys
import wave
from pathlib import Path

import pytest

from ivr.prompts.catalog import PromptCatalog, PromptCatalogError
from ivr.prompts.generate import GenerationReport, PromptToolMissing, generate_prompts
from tests.test_ivr_flows_fakes import CATALOG

# Stand-ins with the real tools' command lines: espeak-ng -v cmn -w OUT TEXT; sox IN [options] OUT.
FAKE_ESPEAK = """\
import sys
args = sys.argv[1:]
assert args[:2] == ["-v", "cmn"] and args[2] == "-w", args
open(args[3], "w", encoding="utf-8").write("spoken:" + args[4])
"""
FAKE_SOX = """\
import sys
args = sys.argv[1:]
assert "-r" in args and args[args.index("-r") + 1] == "8000", args
open(args[-1], "w", encoding="utf-8").write(open(args[0], encoding="utf-8").read() + "|" + " ".join(args[1:-1]))
"""


def tool(folder: Path, name: str, body: str) -> str:
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def tools(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    return {"espeak": tool(bin_dir, "espeak-ng", FAKE_ESPEAK), "sox": tool(bin_dir, "sox", FAKE_SOX)}


def small_catalog(tmp_path: Path, texts: dict[str, str]) -> PromptCatalog:
    path = tmp_path / "zh.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in texts.items()), encoding="utf-8")
    return PromptCatalog.load(path)


def test_given_the_shipped_catalogue_when_asking_a_file_name_then_the_lianluo_sound_folder() -> None:
    assert CATALOG.file_name("welcome") == "lianluo/welcome"
    assert "digit-1-yao" in CATALOG and CATALOG.texts["digit-1-yao"] == "幺"
    with pytest.raises(KeyError):
        CATALOG.file_name("nope")


def test_given_a_bad_prompt_id_when_loading_the_catalogue_then_it_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PromptCatalogError, match="Welcome"):
        small_catalog(tmp_path, {"Welcome": "您好"})


async def test_given_new_prompts_when_generating_then_each_is_made_once_and_then_up_to_date(
        tmp_path: Path, tools: dict[str, str]) -> None:
    catalog = small_catalog(tmp_path, {"welcome": "您好", "goodbye": "再见"})
    out = tmp_path / "sounds"
    first = await generate_prompts(catalog, out, formats=("wav", "ulaw"), **tools)
    assert sorted(first.generated) == ["goodbye", "welcome"]
    assert (out / "welcome.wav").read_text(encoding="utf-8").startswith("spoken:您好|")
    assert (out / "welcome.ulaw").exists()
    again = await generate_prompts(catalog, out, formats=("wav", "ulaw"), **tools)
    assert again == GenerationReport(up_to_date=["welcome", "goodbye"])


async def test_given_a_changed_text_when_generating_then_only_that_prompt_is_made_again(
        tmp_path: Path, tools: dict[str, str]) -> None:
    out = tmp_path / "sounds"
    await generate_prompts(small_catalog(tmp_path, {"welcome": "您好", "goodbye": "再见"}), out, **tools)
    report = await generate_prompts(small_catalog(tmp_path, {"welcome": "您好！", "goodbye": "再见"}), out, **tools)
    assert report.generated == ["welcome"] and report.up_to_date == ["goodbye"]


async def test_given_a_professional_recording_when_generating_then_it_is_never_overwritten(
        tmp_path: Path, tools: dict[str, str]) -> None:
    out = tmp_path / "sounds"
    out.mkdir()
    (out / "welcome.wav").write_bytes(b"studio recording")
    catalog = small_catalog(tmp_path, {"welcome": "您好", "goodbye": "再见"})
    report = await generate_prompts(catalog, out, **tools)
    assert report.kept_recordings == ["welcome"] and report.generated == ["goodbye"]
    # A recording dropped over a file we generated earlier is also kept, even when the text changes.
    (out / "goodbye.wav").write_bytes(b"studio goodbye")
    report = await generate_prompts(small_catalog(tmp_path, {"welcome": "您好", "goodbye": "再会"}), out, **tools)
    assert sorted(report.kept_recordings) == ["goodbye", "welcome"] and report.generated == []
    assert (out / "welcome.wav").read_bytes() == b"studio recording"


async def test_given_no_espeak_when_generating_then_a_clear_error(tmp_path: Path) -> None:
    catalog = small_catalog(tmp_path, {"welcome": "您好"})
    with pytest.raises(PromptToolMissing, match="apt-get install espeak-ng"):
        await generate_prompts(catalog, tmp_path / "sounds", espeak=str(tmp_path / "no-espeak"))


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                    reason="espeak-ng and sox are not installed (make test installs them)")
async def test_given_the_real_tools_when_generating_then_8khz_mono_16bit_wav(tmp_path: Path) -> None:
    catalog = small_catalog(tmp_path, {"welcome": CATALOG.texts["welcome"], "digit-1-yao": "幺"})
    report = await generate_prompts(catalog, tmp_path / "sounds")
    assert sorted(report.generated) == ["digit-1-yao", "welcome"]
    with wave.open(str(tmp_path / "sounds" / "welcome.wav")) as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        assert audio.getnframes() > 8000  # more than a second of speech
