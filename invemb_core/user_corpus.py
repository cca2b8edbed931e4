"""A corpus the user brings: pasted text, a .txt file (one sentence a line) or a .csv file (one column).

``read_corpus`` turns the bytes or text into the sentences a map is drawn from, and says what it did in
plain sentences (``UserCorpus.summary``, ``notes``): "4,812 sentences; 188 empty or duplicate lines
skipped". Everything a user's file can get wrong (empty, binary, not UTF-8, too big, a CSV without the named
column, nothing left to map) raises ``InvEmbError`` with a message that says what to do; what can be
mended (too many lines, overlong lines, Markdown or HTML in the text) is mended and named in a note.
The text is only read here: no model, no Markdown, nothing drawn. ``corpus_map.py`` maps it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvEmbError

# What the app accepts; the command line (``invemb project --file``) lifts the sentence and size limits.
MAX_SENTENCES = 5_000  # the app draws a map of this many within about a minute on two cores
MAX_BYTES = 10 * 1024 * 1024  # 5,000 long sentences are under 2 MB; a bigger file is another kind of file
MAX_CHARS = 1_000  # the model reads 48 word pieces of a sentence (its meaning part 254): the rest is unread
CSV_SUFFIXES = (".csv", ".tsv")
TEXT_COLUMNS = ("sentence", "sentences", "text", "utterance", "line", "caption")  # guessed first, in this order
# Markup a reader might expect to be rendered: tags, emphasis, links/images, headings, code.
MARKUP = re.compile(r"<[a-zA-Z/!][^>]*>|\*\*|__|!?\[[^\]]*\]\([^)]*\)|^\s{0,3}#{1,6}\s|`")
ARCHIVE_MAGIC = {b"PK\x03\x04": "a zip archive (an .xlsx, .docx or .odt is one)", b"%PDF": "a PDF"}


@dataclass(frozen=True)
class CorpusLimits:
    """What ``read_corpus`` accepts. None: no limit (the command line)."""

    max_sentences: int | None = MAX_SENTENCES
    max_bytes: int | None = MAX_BYTES
    max_chars: int = MAX_CHARS


NO_LIMITS = CorpusLimits(max_sentences=None, max_bytes=None)


@dataclass
class UserCorpus:
    """The sentences to map (distinct, non-empty, in the order given), an optional group per sentence (a
    second CSV column, for colouring), and what reading them did."""

    sentences: list[str]
    groups: list[str] | None = None
    source: str = "pasted text"
    lines: int = 0  # lines (or CSV rows) read
    skipped: int = 0  # empty or duplicate lines left out
    notes: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """A fingerprint of the content alone (not of the file name): the same sentences give the same map."""
        h = hashlib.sha256()
        for i, s in enumerate(self.sentences):
            h.update(s.encode("utf-8") + b"\n")
            if self.groups is not None:
                h.update(b"\t" + self.groups[i].encode("utf-8") + b"\n")
        return h.hexdigest()[:20]

    @property
    def summary(self) -> str:
        """What was accepted, in one line: "4,812 sentences; 188 empty or duplicate lines skipped"."""
        n = len(self.sentences)
        text = f"{n:,} sentence{'s' if n != 1 else ''}"
        if self.skipped:
            text += f"; {self.skipped:,} empty or duplicate line{'s' if self.skipped != 1 else ''} skipped"
        return text


def decode_text(data: bytes, *, source: str = "the file") -> str:
    """Bytes -> text: UTF-8 (a byte-order mark allowed), or UTF-16 with its byte-order mark (Windows
    Notepad's "Unicode"). Binary files and other encodings raise ``InvEmbError`` naming the problem."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise InvEmbError(f"{source} starts like UTF-16 text but is not: save it as UTF-8 text") from e
    for magic, kind in ARCHIVE_MAGIC.items():
        if data.startswith(magic):
            raise InvEmbError(f"{source} is {kind}, not text: save it as plain text (.txt) or as CSV (.csv)")
    if b"\x00" in data[:65536]:
        raise InvEmbError(f"{source} looks like a binary file, not text (it holds NUL bytes): save it as .txt or .csv")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InvEmbError(
            f"{source} is not UTF-8 text: line {line:,} has a byte (0x{data[e.start]:02X}) that UTF-8 does not "
            "allow. Save it again as UTF-8 (in Excel: 'CSV UTF-8'; in an editor: Save as, encoding UTF-8)"
        ) from e


def _check_size(data: bytes | str, limits: CorpusLimits, source: str) -> None:
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size == 0 or (isinstance(data, (bytes, str)) and not data.strip()):
        raise InvEmbError(f"{source} is empty: give one sentence a line")
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise InvEmbError(
            f"{source} is {size / 1024 / 1024:.1f} MB; the app reads up to {limits.max_bytes / 1024 / 1024:.0f} MB "
            f"({MAX_SENTENCES:,} sentences take far less). For a bigger corpus use the command line: "
            "invemb project --file FILE"
        )


def is_csv(filename: str) -> bool:
    return Path(filename).suffix.lower() in CSV_SUFFIXES


def _read_table(text: str, source: str) -> list[list[str]]:
    """The rows of a CSV text (comma, semicolon or tab, as its first lines show), header first."""
    sample = text[:20_000]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel_tab if "\t" in sample.split("\n", 1)[0] else csv.excel
    try:
        rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in row)]
    except csv.Error as e:
        raise InvEmbError(f"{source} is not a readable CSV file: {e}") from e
    if not rows:
        raise InvEmbError(f"{source} is empty: give a header row, then one row per sentence")
    return rows


def csv_columns(
    data: bytes | str, *, filename: str = "", limits: CorpusLimits = CorpusLimits()
) -> tuple[list[str], str]:
    """A CSV file's column names, in order (a blank name as "column N"), and the one most likely to hold
    the sentences (``guess_column``). Raises what ``read_corpus`` raises for unreadable data."""
    source = f"'{Path(filename).name}'" if filename else "the CSV text"
    _check_size(data, limits, source)
    text = data if isinstance(data, str) else decode_text(data, source=source)
    rows = _read_table(text, source)
    columns = _header(rows)
    return columns, guess_column(columns, rows[1:500])


def _header(rows: list[list[str]]) -> list[str]:
    return [name.strip() or f"column {i + 1}" for i, name in enumerate(rows[0])]


def guess_column(columns: list[str], rows: list[list[str]] | None = None) -> str:
    """The column most likely to hold the sentences: one named like TEXT_COLUMNS, else the one whose cells
    are longest on average (over ``rows``, header excluded), else the first."""
    lower = [c.lower() for c in columns]
    for name in TEXT_COLUMNS:
        if name in lower:
            return columns[lower.index(name)]
    if rows:
        lengths = [sum(len(r[i]) for r in rows if i < len(r)) for i in range(len(columns))]
        return columns[max(range(len(columns)), key=lengths.__getitem__)]
    return columns[0]


def read_corpus(
    data: bytes | str,
    *,
    filename: str = "",
    column: str | None = None,
    group_column: str | None = None,
    limits: CorpusLimits = CorpusLimits(),
) -> UserCorpus:
    """Pasted text (str) or a file's bytes -> the corpus to map.

    Args:
        data: the text, or a file's bytes (UTF-8 or UTF-16 with a byte-order mark).
        filename: the uploaded file's name; a name ending in .csv or .tsv is read as CSV. "" for pasted text.
        column: the CSV column holding the sentences (None: guessed, see ``guess_column``).
        group_column: a CSV column to colour the map by (optional).
        limits: what is accepted; longer lines are cut, lines beyond ``max_sentences`` left out, with notes.

    Raises:
        InvEmbError: empty, binary or non-UTF-8 data, a file over ``max_bytes``, a CSV without the named
            column, or no sentence left.
    """
    source = f"'{Path(filename).name}'" if filename else "the pasted text"
    _check_size(data, limits, source)
    text = data if isinstance(data, str) else decode_text(data, source=source)
    notes: list[str] = []
    groups: list[str] | None = None
    if filename and is_csv(filename):
        rows = _read_table(text, source)
        header = _header(rows)
        body = rows[1:]
        for name in (column, group_column):
            if name is not None and name not in header:
                raise InvEmbError(f"{source} has no column named '{name}'; its columns are: {', '.join(header)}")
        column = column or guess_column(header, body[:500])
        at = header.index(column)
        lines = [row[at] if at < len(row) else "" for row in body]
        if group_column is not None:
            g = header.index(group_column)
            groups = [(row[g] if g < len(row) else "").strip() or "(none)" for row in body]
        if not body:
            raise InvEmbError(f"{source} has a header row but no rows under it")
    else:
        lines = text.splitlines()

    cut = 0
    kept: dict[str, str | None] = {}
    for i, line in enumerate(lines):
        sentence = " ".join(line.split())  # tabs, runs of spaces and stray line breaks in a cell: one space
        if len(sentence) > limits.max_chars:
            sentence, cut = sentence[: limits.max_chars], cut + 1
        if sentence and sentence not in kept:
            kept[sentence] = groups[i] if groups is not None else None
    sentences = list(kept)
    skipped = len(lines) - len(sentences)
    if not sentences:
        raise InvEmbError(f"{source} holds no sentence: every line{' of that column' if column else ''} is empty")
    if limits.max_sentences is not None and len(sentences) > limits.max_sentences:
        notes.append(
            f"{len(sentences):,} distinct sentences: the app maps the first {limits.max_sentences:,}. "
            "The command line maps them all: invemb project --file FILE"
        )
        sentences = sentences[: limits.max_sentences]
    if cut:
        notes.append(
            f"{cut:,} line{'s' if cut > 1 else ''} longer than {limits.max_chars:,} characters "
            f"{'were' if cut > 1 else 'was'} cut to {limits.max_chars:,} (the model reads only a sentence's beginning)."
        )
    marked = sum(bool(MARKUP.search(s)) for s in sentences)
    if marked:
        notes.append(
            f"{marked:,} sentence{'s contain' if marked > 1 else ' contains'} HTML or Markdown; "
            "it is kept and shown as plain text, never rendered."
        )
    return UserCorpus(
        sentences=sentences,
        groups=[kept[s] or "" for s in sentences] if groups is not None else None,
        source=source,
        lines=len(lines),
        skipped=skipped,
        notes=notes,
    )
