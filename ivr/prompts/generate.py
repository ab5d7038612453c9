"""Turns the prompt catalogue into the sound files Asterisk plays: espeak-ng (Mandarin voice ``cmn``)
speaks each text to a WAV, sox converts it to 8 kHz mono 16-bit (``<id>.wav``, and optionally raw
``.ulaw``/``.alaw``) in the output folder.

Files we produced are listed in a manifest (``.lianluo-prompts.json``: id → hash of the text and of
the WAV we wrote). A prompt is generated again only when its text changed or its file is missing; a
WAV the manifest does not list, or whose content is not what we wrote, is somebody's recording (an
insurer's professional voice) and is never overwritten.

    python -m ivr.prompts.generate OUT_DIR [--catalog zh.yaml] [--format ulaw]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ivr.prompts.catalog import PromptCatalog

MANIFEST = ".lianluo-prompts.json"
# sox output options per extension: what Asterisk reads as wav, ulaw and alaw.
FORMATS = {
    "wav": ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "wav"],
    "ulaw": ["-r", "8000", "-c", "1", "-t", "ul"],
    "alaw": ["-r", "8000", "-c", "1", "-t", "al"],
}


class PromptToolMissing(RuntimeError):
    """espeak-ng or sox is not installed (or not where we were told)."""


class PromptGenerationFailed(RuntimeError):
    """A tool ran but failed on a prompt."""


@dataclass
class GenerationReport:
    generated: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    kept_recordings: list[str] = field(default_factory=list)  # files we did not make: left alone


def _digest(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()[:16]


def _audio_digest(path: Path) -> str | None:
    try:
        return _digest(path.read_bytes())
    except OSError:
        return None


def _require(tool: str) -> str:
    found = shutil.which(tool)
    if not found:
        package = "espeak-ng" if "espeak" in tool else "sox"
        raise PromptToolMissing(f"{tool} not found on PATH: install it (apt-get install {package}) "
                                f"or pass its path to generate_prompts")
    return found


async def _run(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.PIPE)
    _, stderr = await process.communicate()
    if process.returncode != 0:
        raise PromptGenerationFailed(f"{Path(args[0]).name} failed ({process.returncode}): "
                                     f"{stderr.decode(errors='replace').strip()[:500]}")


async def _generate_one(prompt_id: str, text: str, out_dir: Path, formats: Iterable[str], *, espeak: str,
                        sox: str) -> None:
    with tempfile.TemporaryDirectory(prefix="lianluo-prompt-") as tmp:
        spoken = Path(tmp) / "espeak.wav"
        await _run(espeak, "-v", "cmn", "-w", str(spoken), text)
        for ext in formats:
            partial = Path(tmp) / f"{prompt_id}.{ext}"
            await _run(sox, str(spoken), *FORMATS[ext], str(partial))
            # Into place in one step: Asterisk never plays a half-written file.
            await asyncio.to_thread(shutil.move, str(partial), str(out_dir / f"{prompt_id}.{ext}"))


Manifest = dict[str, dict[str, str]]  # prompt id → {"text": digest, "audio": digest of the .wav}


def _read_manifest(out_dir: Path) -> Manifest:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def _classify(catalog: PromptCatalog, out_dir: Path, formats: tuple[str, ...], manifest: Manifest,
              report: GenerationReport) -> list[str]:
    """Sort the prompts into up to date, someone's recording, and to generate (returned)."""
    todo: list[str] = []
    for prompt_id, text in catalog.texts.items():
        wav = out_dir / f"{prompt_id}.wav"
        ours = manifest.get(prompt_id)
        audio = _audio_digest(wav)
        if audio is not None and (ours is None or ours.get("audio") != audio):
            report.kept_recordings.append(prompt_id)
        elif (audio is not None and ours is not None and ours.get("text") == _digest(text)
              and all((out_dir / f"{prompt_id}.{ext}").exists() for ext in formats)):
            report.up_to_date.append(prompt_id)
        else:
            todo.append(prompt_id)
    return todo


def _write_manifest(out_dir: Path, manifest: Manifest) -> None:
    partial = out_dir / f"{MANIFEST}.tmp"
    partial.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(partial, out_dir / MANIFEST)


async def generate_prompts(catalog: PromptCatalog, out_dir: Path, *, espeak: str = "espeak-ng", sox: str = "sox",
                           formats: Iterable[str] = ("wav",), concurrency: int = 4) -> GenerationReport:
    out_dir = Path(out_dir)
    formats = tuple(formats)
    unknown = set(formats) - set(FORMATS)
    if unknown or "wav" not in formats:
        raise ValueError(f"formats must include wav and be among {sorted(FORMATS)}: {formats}")
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    manifest = await asyncio.to_thread(_read_manifest, out_dir)
    report = GenerationReport()
    todo = await asyncio.to_thread(_classify, catalog, out_dir, formats, manifest, report)
    if not todo:
        return report
    espeak_path, sox_path = _require(espeak), _require(sox)
    limit = asyncio.Semaphore(concurrency)

    async def one(prompt_id: str) -> None:
        async with limit:
            await _generate_one(prompt_id, catalog.texts[prompt_id], out_dir, formats, espeak=espeak_path,
                                sox=sox_path)
            audio = await asyncio.to_thread(_audio_digest, out_dir / f"{prompt_id}.wav")
            manifest[prompt_id] = {"text": _digest(catalog.texts[prompt_id]), "audio": audio or ""}
            report.generated.append(prompt_id)

    try:
        await asyncio.gather(*(one(p) for p in todo))
    finally:
        # Whatever was made is recorded even if one prompt failed, so it is not taken for a recording.
        await asyncio.to_thread(_write_manifest, out_dir, manifest)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the IVR prompt audio from the catalogue.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--catalog", type=Path, default=None)
    parser.add_argument("--format", action="append", default=[], choices=sorted(set(FORMATS) - {"wav"}))
    args = parser.parse_args(argv)
    catalog = PromptCatalog.load(args.catalog) if args.catalog else PromptCatalog.load()
    report = asyncio.run(generate_prompts(catalog, args.out_dir, formats=("wav", *args.format)))
    print(f"generated {len(report.generated)}, up to date {len(report.up_to_date)}, "
          f"recordings kept {len(report.kept_recordings)}")


if __name__ == "__main__":
    main()
