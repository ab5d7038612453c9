"""Chinese text for search: jieba segmentation with the insurance user dictionary.

Full-text search on both databases works on pre-segmented text: the words jieba finds are joined by spaces,
so SQLite FTS5 (``unicode61`` tokenizer) and PostgreSQL (``simple`` configuration) index whole Chinese words
instead of single characters, and a query is segmented the same way before it is matched.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from pathlib import Path

import jieba

USER_DICT = Path(__file__).with_name("insurance_dict.txt")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_lock = threading.Lock()


@functools.cache
def _tokenizer() -> jieba.Tokenizer:
    with _lock:
        jieba.setLogLevel(logging.WARNING)  # jieba prints its dictionary loading at INFO
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        tokenizer.load_userdict(str(USER_DICT))
        return tokenizer


def words(text: str | None) -> list[str]:
    """The searchable words of ``text``: jieba's search-engine cut (long words and their parts), lower-cased,
    without punctuation and whitespace."""
    if not text:
        return []
    out: list[str] = []
    for word in _tokenizer().cut_for_search(text):
        word = _PUNCT.sub("", word).lower()
        if word:
            out.append(word)
    return out


def segment(*texts: str | None) -> str:
    """The texts as one space-separated string of words, ready to store in a full-text index."""
    return " ".join(w for text in texts for w in words(text))


def query_words(text: str) -> list[str]:
    """The words a search box's text must all match, each once, in order of appearance. The query uses the
    precise cut (not the search-engine cut) so "理赔时效" asks for the word, not also its parts."""
    seen: dict[str, None] = {}
    for word in _tokenizer().cut(text):
        word = _PUNCT.sub("", word).lower()
        if word:
            seen.setdefault(word, None)
    return list(seen)
