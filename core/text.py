"""Title preprocessing and vocabularies (no torch).

Owns: the gensim filter chain that turns a raw product title into tokens
(sequential or across processes), NLTK's Spanish stopwords (offline-friendly),
the token vocabulary ([PAD]=0, [UNK]=1, built on train only with a gensim
Dictionary) and the category label map; both are saved as plain JSON.
"""
from __future__ import annotations

import multiprocessing
import os
import socket
from itertools import chain
from typing import Iterable, Sequence

import numpy as np
from gensim.parsing import preprocessing as gp

PAD, UNK = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1
PARALLEL_MIN = 20_000  # below this, starting processes costs more than it saves
CHUNK = 2_000  # titles per task sent to a worker process


# ---------------------------------------------------------------------------
# tokens
def lowercase(s: str) -> str:
    return s.lower()


def strip_short3(s: str) -> str:
    return gp.strip_short(s, minsize=3)


# module-level functions (not lambdas) so worker processes can unpickle them
FILTERS = (
    lowercase,
    gp.strip_tags,
    gp.split_alphanum,
    gp.strip_punctuation,
    gp.strip_non_alphanum,
    gp.strip_multiple_whitespaces,
    gp.strip_numeric,
    strip_short3,
)


def tokenize(title: str) -> list[str]:
    """'Zapatillas Nike Air Max 90 <b>talle</b> 42!!' -> ['zapatillas', 'nike', 'air', 'max', 'talle']."""
    return gp.preprocess_string(title, FILTERS)


# Fast path with the same tokens. After lowercase and strip_tags, every filter
# acts within a whitespace-delimited word (or only on whitespace), so a title's
# tokens are its words' tokens in order. Each distinct word is tokenized once
# per chunk, and those words run through the filters joined into one string by
# a separator word that no filter changes: the regular expressions then run a
# few times per chunk instead of eight times per title.
_SEP_WORD = "\u01c2\u01c2\u01c2"  # "ǂǂǂ": three letters (\w), no case, not a-z, no digits
_SEP = f" {_SEP_WORD} "
_WORD_FILTERS = FILTERS[2:]  # after lowercase and strip_tags


def _filter_words(words: list[str]) -> list[list[str]]:
    """Tokens of each (lowercased, tag-free, space-free) word."""
    if not words:
        return []
    if any(_SEP_WORD in w for w in words):
        return [gp.preprocess_string(w, _WORD_FILTERS) for w in words]
    text = _SEP.join(words)
    for f in _WORD_FILTERS:
        text = f(text)
    out: list[list[str]] = [[]]
    for token in text.split():
        if token == _SEP_WORD:
            out.append([])
        else:
            out[-1].append(token)
    if len(out) != len(words):  # not expected with these filters; never return misaligned tokens
        return [gp.preprocess_string(w, _WORD_FILTERS) for w in words]
    return out


def _tokenize_chunk(titles: Sequence[str]) -> list[list[str]]:
    lowered = [t.lower() for t in titles]
    words = [(gp.strip_tags(t) if "<" in t else t).split() for t in lowered]
    distinct = {w: None for ws in words for w in ws}
    # a word of letters only passes every filter unchanged; only its length counts
    table = {w: ([w] if len(w) >= 3 else []) for w in distinct if w.isalpha()}
    rest = [w for w in distinct if w not in table]
    table.update(zip(rest, _filter_words(rest)))
    get = table.__getitem__
    return [list(chain.from_iterable(map(get, ws))) for ws in words]


def tokenize_many(titles: Sequence[str], workers: int | None = None, min_parallel: int = PARALLEL_MIN) -> list[list[str]]:
    """Tokens of every title, in order. Uses `workers` processes (default: all
    cores) when there are at least `min_parallel` titles; same result as
    tokenizing one by one."""
    titles = list(titles)
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    if workers <= 1 or len(titles) < max(min_parallel, 2):
        return _tokenize_chunk(titles)
    size = max(CHUNK, -(-len(titles) // workers))  # one large chunk per worker: words repeat across titles
    chunks = [titles[i : i + size] for i in range(0, len(titles), size)]
    with multiprocessing.get_context().Pool(min(workers, len(chunks))) as pool:
        parts = pool.map(_tokenize_chunk, chunks)  # map keeps the order
    return [tokens for part in parts for tokens in part]


# ---------------------------------------------------------------------------
# stopwords
_DOWNLOAD_TRIED = False
STOPWORDS_HELP = (
    "NLTK's stopwords corpus was not found. Set NLTK_DATA to a folder that contains "
    "corpora/stopwords.zip (or an unpacked corpora/stopwords/ folder), or run "
    "`python -m nltk.downloader stopwords` on a machine with network access"
)


def _nltk_data_paths() -> None:
    """NLTK reads NLTK_DATA only when imported; honour a value set later."""
    import nltk

    for entry in reversed([p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]):
        if entry not in nltk.data.path:
            nltk.data.path.insert(0, entry)


def _read_stopwords(language: str) -> list[str] | None:
    """Read the corpus afresh (not through nltk.corpus.stopwords, which keeps
    the first corpus it ever found), or None when it is not installed."""
    import nltk
    from nltk.corpus.reader import StopwordsCorpusReader

    _nltk_data_paths()
    for where in ("corpora/stopwords.zip/stopwords/", "corpora/stopwords"):
        try:
            root = nltk.data.find(where)
        except LookupError:
            continue
        reader = StopwordsCorpusReader(root, r"(?!README|\.).*", encoding="utf8")
        if language not in reader.fileids():
            raise ValueError(f"the stopwords corpus at {root} has no '{language}' list; {STOPWORDS_HELP}")
        return reader.words(language)
    return None


def _try_download() -> None:
    global _DOWNLOAD_TRIED
    if _DOWNLOAD_TRIED:
        return
    _DOWNLOAD_TRIED = True
    import nltk

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(15)  # an unreachable network must not hang prepare
    try:
        nltk.download("stopwords", quiet=True)
    except Exception:  # offline or blocked: any error just means "not downloaded"
        pass
    finally:
        socket.setdefaulttimeout(previous)


def spanish_stopwords(language: str = "spanish") -> set[str]:
    """NLTK's stopword list (313 Spanish words), downloading it once if missing."""
    words = _read_stopwords(language)
    if words is None:
        _try_download()
        words = _read_stopwords(language)
    if words is None:
        raise ValueError(STOPWORDS_HELP)
    return {w.strip() for w in words if w.strip()}


# ---------------------------------------------------------------------------
# vocabulary
class Vocab:
    """Token ids: 0 [PAD], 1 [UNK], then the train dictionary's tokens.
    Stopwords are dropped when encoding (as the course did before encoding),
    so they neither take ids nor show up as [UNK]."""

    def __init__(self, tokens: Sequence[str], stopwords: Iterable[str] = ()):
        tokens = list(tokens)
        if tokens[:2] != [PAD, UNK]:
            raise ValueError(f"a vocabulary must start with {PAD}, {UNK}; got {tokens[:2]}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("the vocabulary has duplicate tokens")
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}
        self.stopwords = frozenset(stopwords)

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.tokens == other.tokens and self.stopwords == other.stopwords

    def _ids(self, tokens: Iterable[str]) -> list[int]:
        get, skip = self.index.get, self.stopwords
        return [get(t, UNK_ID) for t in tokens if t not in skip]

    def count_kept(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """(N,) int64: tokens per title once stopwords are dropped, before
        truncation (0 for an empty title); what max_len is chosen from."""
        skip = self.stopwords
        return np.fromiter((sum(t not in skip for t in toks) for toks in token_lists), np.int64, len(token_lists))

    def encode(self, tokens: Sequence[str], max_len: int) -> tuple[np.ndarray, int]:
        """(ids (max_len,) int64 zero-padded, length >= 1); nothing left -> one [UNK]."""
        ids, lengths = self.encode_many([tokens], max_len)
        return ids[0], int(lengths[0])

    def encode_many(self, token_lists: Sequence[Sequence[str]], max_len: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids (N, max_len) int64, lengths (N,) int64 >= 1); the first max_len
        kept tokens of each title (titles lead with what they are)."""
        if max_len < 1:
            raise ValueError(f"max_len must be at least 1, got {max_len}")
        rows = [self._ids(t)[:max_len] for t in token_lists]
        n = len(rows)
        lengths = np.fromiter((len(r) for r in rows), np.int64, n)
        flat = np.fromiter((i for r in rows for i in r), np.int64, int(lengths.sum()))
        ids = np.zeros((n, max_len), np.int64)
        row = np.repeat(np.arange(n), lengths)
        starts = np.cumsum(lengths) - lengths
        ids[row, np.arange(len(flat)) - np.repeat(starts, lengths)] = flat
        empty = lengths == 0
        ids[empty, 0] = UNK_ID  # a model must see at least one step
        lengths[empty] = 1
        return ids, lengths

    def to_json(self) -> dict:
        return {"tokens": self.tokens, "stopwords": sorted(self.stopwords)}

    @classmethod
    def from_json(cls, data: dict) -> "Vocab":
        return cls(data["tokens"], data.get("stopwords", ()))


def build_vocab(
    train_tokens: Iterable[Sequence[str]],
    min_freq: int = 2,
    max_size: int = 50_000,
    stopwords: Iterable[str] | None = None,
) -> Vocab:
    """Vocabulary of the train titles: tokens in at least `min_freq` titles,
    no stopwords, the `max_size` most frequent (plus [PAD] and [UNK]).
    `stopwords=None` means NLTK's Spanish list; pass () for none."""
    from gensim.corpora import Dictionary

    stop = spanish_stopwords() if stopwords is None else set(stopwords)
    d = Dictionary(train_tokens)
    # stopwords go first so they do not take any of the max_size places
    d.filter_tokens(bad_ids=[d.token2id[w] for w in stop if w in d.token2id])
    d.filter_extremes(no_below=min_freq, no_above=1.0, keep_n=max_size)
    d.compactify()
    return Vocab([PAD, UNK] + [d[i] for i in range(len(d))], stop)


# ---------------------------------------------------------------------------
# labels
class LabelMap:
    """Category name <-> class index, by order of first appearance in train."""

    def __init__(self, names: Sequence[str]):
        self.names = list(names)
        self.index = {c: i for i, c in enumerate(self.names)}
        if len(self.index) != len(self.names):
            raise ValueError("the label map has duplicate categories")

    @classmethod
    def fit(cls, categories: Iterable[str]) -> "LabelMap":
        return cls(list(dict.fromkeys(categories)))

    @property
    def categories(self) -> list[str]:
        return self.names

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, category: object) -> bool:
        return category in self.index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelMap) and self.names == other.names

    def encode(self, categories: Iterable[str], where: str = "") -> np.ndarray:
        """(N,) int64; a category not seen in train is a ValueError."""
        categories = list(categories)
        get = self.index.get
        y = np.fromiter((get(c, -1) for c in categories), np.int64, len(categories))
        if (y < 0).any():
            bad = np.flatnonzero(y < 0)
            unknown = dict.fromkeys(categories[i] for i in bad)
            more = f" and {len(unknown) - 1} more" if len(unknown) > 1 else ""
            raise ValueError(
                f"{where + ': ' if where else ''}category {categories[bad[0]]!r} (row {bad[0] + 1}){more} "
                "does not occur in train; every category must have train rows"
            )
        return y

    def to_json(self) -> dict:
        return {"categories": self.names}

    @classmethod
    def from_json(cls, data: dict) -> "LabelMap":
        return cls(data["categories"])
