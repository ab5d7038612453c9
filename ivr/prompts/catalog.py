"""The prompt catalogue: prompt id → Mandarin text, loaded from ``zh.yaml``.

Flows and the speech module name prompts by id only; the AGI channel asks ``file_name`` for what
Asterisk plays (a file under Asterisk's sounds folder, without extension).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_CATALOG = Path(__file__).with_name("zh.yaml")
# Prompt ids become file names: keep them portable and free of path tricks.
PROMPT_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class PromptCatalogError(ValueError):
    """The catalogue file is unreadable or holds a malformed entry."""


@dataclass(frozen=True)
class PromptCatalog:
    texts: dict[str, str]
    path: Path | None = None
    sound_folder: str = "lianluo"  # subfolder of Asterisk's sounds dir the generated files go to
    _ids: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ids", frozenset(self.texts))

    @classmethod
    def load(cls, path: Path = DEFAULT_CATALOG, *, sound_folder: str = "lianluo") -> PromptCatalog:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise PromptCatalogError(f"{path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise PromptCatalogError(f"{path}: expected a mapping of prompt id to text")
        texts: dict[str, str] = {}
        for key, text in raw.items():
            if not isinstance(key, str) or not PROMPT_ID.match(key):
                raise PromptCatalogError(f"{path}: prompt id {key!r} must be lowercase letters, digits and '-'")
            if not isinstance(text, str) or not text.strip():
                raise PromptCatalogError(f"{path}: prompt {key!r} has no text")
            texts[key] = text.strip()
        return cls(texts=texts, path=Path(path), sound_folder=sound_folder)

    def __contains__(self, prompt_id: object) -> bool:
        return prompt_id in self._ids

    def spoken_seconds(self) -> dict[str, float]:
        """Each prompt's file name and about how long it takes to say (Mandarin, ~4.5 characters a
        second): what a simulated PBX plays for it."""
        return {self.file_name(pid): round(0.3 + len(text) / 4.5, 2) for pid, text in self.texts.items()}

    def file_name(self, prompt_id: str) -> str:
        """What Asterisk plays for this prompt, e.g. ``lianluo/welcome``."""
        if prompt_id not in self._ids:
            raise KeyError(f"prompt {prompt_id!r} is not in the catalogue")
        return f"{self.sound_folder}/{prompt_id}"
