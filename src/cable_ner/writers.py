"""The annotate job's outputs: one writer per format, each encoding a doc and writing the result.

- `jsonl` (`JsonlWriter`): one line per cable: `doc._.cable.to_dict()` (header fields,
  paragraphs, source, form, encoding, encoding_fallback, text_hash, skipped, label_counts) with
  `entities` as a flat list of `start`, `end` (character offsets into the decoded input file,
  BOM removed: `ent._.source_span`), `label`, `text`, `paragraph`, `portion`, `clean_start`,
  `clean_end` (offsets into the doc's text). OUTPUT is a `.jsonl` file (failures in
  `OUTPUT.failures.jsonl`) or a folder (`annotations.jsonl` in it). Resume reads the `source` of
  each line; a truncated last line is cut off and redone.
- `tagged` (`TaggedWriter`): `OUTPUT/<id>.txt` in the tagged format (`markup.write_tagged`;
  sentences from the pipeline's senter, one line when it sets none), ready for
  `scripts/convert.py`. `<id>` is the reference id (or the file stem) reduced to
  `[A-Za-z0-9_.-]`; a clash gets `__2`, `__3`.
- `docbin` (`DocBinWriter`): `OUTPUT/annotated-NNNNN.spacy` shards of `shard_size` docs
  (user_data kept).
For `tagged` and `docbin`, `OUTPUT/manifest.jsonl` lists each done source and its file, written
after the file: resume reads it (a tagged file that has since been deleted is redone).

Every writer keeps the failures file (`fail`) and the set of sources already done (`done`, with
resume). `encode` runs where the doc is (a worker, a Ray actor); `write` where the output is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from spacy.tokens import Doc, DocBin

from .markup import write_tagged
from .reader import file_stem

JSONL_NAME = "annotations.jsonl"
MANIFEST_NAME = "manifest.jsonl"
FAILURES_NAME = "failures.jsonl"
REQUIRED_KEYS = ("source", "reference_id", "classification", "tags", "subject", "entities")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_NAME = 150


# --------------------------------------------------------------------------- safe file names


def safe_name(name: str | None, fallback: str = "cable") -> str:
    """A file name made of [A-Za-z0-9_.-] only, no leading dot, at most MAX_NAME characters."""
    clean = _UNSAFE.sub("_", name or "").lstrip("._")[:MAX_NAME].rstrip("_")
    if not clean.strip("."):
        clean = _UNSAFE.sub("_", fallback).lstrip("._")[:MAX_NAME] or "cable"
    return clean


def inside(folder: Path, name: str) -> Path:
    """`folder/name`, refusing any result that resolves outside `folder`."""
    root = folder.resolve()
    path = (root / name).resolve()
    if path.parent != root:
        raise ValueError(f"refusing to write outside {root}: {name!r}")
    return path


def _replace(path: Path, payload: str | bytes | DocBin) -> None:
    """Write `path` through a `.part` file, so a crash never leaves half a file under its name."""
    tmp = path.with_name(path.name + ".part")
    if isinstance(payload, DocBin):
        payload.to_disk(tmp)
    elif isinstance(payload, str):
        tmp.write_text(payload, encoding="utf-8")
    else:
        tmp.write_bytes(payload)
    tmp.replace(path)


# --------------------------------------------------------------------------- the writers


class Writer:
    """Output of one format, with resume and failures. Use as a context manager.

    A subclass sets `fmt`, encodes a doc (`encode`) and writes the payload (`write`); this base
    holds the output folder, the failures file and `done` (the sources resume skips).
    """

    fmt: ClassVar[str]

    def __init__(self, folder: Path, failures_path: Path, resume: bool) -> None:
        self.folder = folder
        self.failures_path = failures_path
        self.resume = resume
        self.done: set[str] = set()
        folder.mkdir(parents=True, exist_ok=True)
        self._failures = open(failures_path, "w", encoding="utf-8")

    @staticmethod
    def encode(doc: Doc) -> str | bytes:
        raise NotImplementedError

    def write(self, source: str, ref: str | None, payload: str | bytes) -> None:
        raise NotImplementedError

    def fail(self, source: str, reason: str) -> None:
        self._failures.write(json.dumps({"file": source, "reason": reason}) + "\n")
        self._failures.flush()

    def close(self) -> None:
        self._failures.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class JsonlWriter(Writer):
    """`jsonl`: one JSON line per cable in OUTPUT (a .jsonl file) or OUTPUT/annotations.jsonl."""

    fmt = "jsonl"

    def __init__(self, output: str | Path, resume: bool = True) -> None:
        output = Path(output)
        if output.suffix == ".jsonl":
            failures = output.with_name(output.name[: -len(".jsonl")] + ".failures.jsonl")
            super().__init__(output.parent, failures, resume)
            self.jsonl_path = output
        else:
            super().__init__(output, output / FAILURES_NAME, resume)
            self.jsonl_path = output / JSONL_NAME
        if resume:
            self.done = _read_jsonl_sources(self.jsonl_path, truncate_bad_tail=True)
        self._out = open(self.jsonl_path, "a" if resume else "w", encoding="utf-8")

    @staticmethod
    def encode(doc: Doc) -> str:
        return json.dumps(jsonl_record(doc), ensure_ascii=False)

    def write(self, source: str, ref: str | None, payload: str | bytes) -> None:
        self._out.write(payload + "\n")  # type: ignore[operator]
        self._out.flush()

    def close(self) -> None:
        self._out.close()
        super().close()


class ManifestWriter(Writer):
    """A format of files in OUTPUT, each listed in OUTPUT/manifest.jsonl once written."""

    def __init__(self, output: str | Path, resume: bool = True) -> None:
        output = Path(output)
        super().__init__(output, output / FAILURES_NAME, resume)
        self.manifest_path = output / MANIFEST_NAME
        self._names: set[str] = set()
        if resume:
            for row in _read_manifest(self.manifest_path):
                if self._still_there(self.folder / row["file"]):
                    self.done.add(row["source"])
                    self._names.add(row["file"])
        else:
            self.manifest_path.unlink(missing_ok=True)
            self._clear()
        self._manifest = open(self.manifest_path, "a", encoding="utf-8")

    def _still_there(self, path: Path) -> bool:
        """Whether a file the manifest lists still counts as done."""
        return True

    def _clear(self) -> None:
        """Remove an earlier run's files (a run without resume)."""

    def _log(self, source: str, name: str, ref: str | None) -> None:
        self._manifest.write(
            json.dumps({"source": source, "file": name, "reference_id": ref}) + "\n"
        )
        self._manifest.flush()

    def close(self) -> None:
        self._manifest.close()
        super().close()


class TaggedWriter(ManifestWriter):
    """`tagged`: OUTPUT/<safe reference id>.txt per cable, in the tagged format."""

    fmt = "tagged"

    def _still_there(self, path: Path) -> bool:
        return path.is_file()

    @staticmethod
    def encode(doc: Doc) -> str:
        return write_tagged(doc) + "\n"

    def write(self, source: str, ref: str | None, payload: str | bytes) -> None:
        name = self._unique(safe_name(ref or file_stem(source)) + ".txt")
        _replace(inside(self.folder, name), payload)
        self._log(source, name, ref)

    def _unique(self, name: str) -> str:
        base, ext = name[: -len(".txt")], ".txt"
        n, candidate = 1, name
        while candidate in self._names:
            n += 1
            candidate = f"{base}__{n}{ext}"
        self._names.add(candidate)
        return candidate


class DocBinWriter(ManifestWriter):
    """`docbin`: OUTPUT/annotated-NNNNN.spacy shards of `shard_size` docs, user_data kept."""

    fmt = "docbin"

    def __init__(self, output: str | Path, resume: bool = True, shard_size: int = 256) -> None:
        super().__init__(output, resume)
        self.shard_size = shard_size
        self._shard: list[tuple[str, bytes]] = []
        self._shard_index = 1 + max(
            (int(p.stem.split("-")[1]) for p in self.folder.glob("annotated-*.spacy")
             if p.stem.split("-")[1].isdigit()), default=-1,
        )  # fmt: skip

    def _clear(self) -> None:
        for old in self.folder.glob("annotated-*.spacy"):
            old.unlink()

    @staticmethod
    def encode(doc: Doc) -> bytes:
        return doc.to_bytes()

    def write(self, source: str, ref: str | None, payload: str | bytes) -> None:
        self._shard.append((source, payload))  # type: ignore[arg-type]
        if len(self._shard) >= self.shard_size:
            self._flush_shard()

    def _flush_shard(self) -> None:
        if not self._shard:
            return
        from spacy.vocab import Vocab

        vocab = Vocab()
        bin_ = DocBin(store_user_data=True)
        for _, data in self._shard:
            bin_.add(Doc(vocab).from_bytes(data))
        name = f"annotated-{self._shard_index:05d}.spacy"
        _replace(inside(self.folder, name), bin_)
        for source, _ in self._shard:
            self._log(source, name, None)
        self._shard = []
        self._shard_index += 1

    def close(self) -> None:
        self._flush_shard()
        super().close()


WRITERS: dict[str, type[Writer]] = {w.fmt: w for w in (JsonlWriter, TaggedWriter, DocBinWriter)}
FORMATS = tuple(WRITERS)


def _writer_class(fmt: str) -> type[Writer]:
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    return WRITERS[fmt]


def open_writer(
    output: str | Path, fmt: str, resume: bool = True, shard_size: int = 256
) -> Writer:
    """The writer of `fmt` into `output` (see the module docstring); ValueError on another fmt."""
    writer = _writer_class(fmt)
    if writer is DocBinWriter:
        return DocBinWriter(output, resume, shard_size)
    return writer(output, resume)  # type: ignore[call-arg]


def encode(doc: Doc, fmt: str) -> tuple[str | None, str | bytes]:
    """(reference id, payload) of a doc for the writer of `fmt`; runs where the doc is."""
    ref = doc._.cable.reference_id
    return ref, _writer_class(fmt).encode(doc)


def jsonl_record(doc: Doc) -> dict:
    """The JSON line of one annotated cable (see the module docstring)."""
    cable = doc._.cable
    rec = cable.to_dict()
    rec.pop("entities", None)
    entities = [
        {
            "start": e["source_start"], "end": e["source_end"], "label": e["label"],
            "text": e["text"], "paragraph": e["paragraph"], "portion": e["portion"],
            "clean_start": e["start"], "clean_end": e["end"],
        }
        for e in cable.entities
    ]  # fmt: skip
    head = {k: rec.pop(k, None) for k in REQUIRED_KEYS if k != "entities"}
    return {**head, **rec, "entities": entities}


# --------------------------------------------------------------------------- resume


def _read_jsonl_sources(path: Path, truncate_bad_tail: bool = False) -> set[str]:
    """The `source` of each complete line; a broken last line is cut off (and so redone)."""
    done: set[str] = set()
    if not path.is_file():
        return done
    good_end = 0
    bad_tail = False
    with open(path, "rb") as fh:
        pos = 0
        for raw in fh:
            end = pos + len(raw)
            try:
                row = json.loads(raw)
                ok = raw.endswith(b"\n") and isinstance(row, dict) and row.get("source")
            except ValueError:
                ok = False
            if ok:
                done.add(row["source"])
                good_end, bad_tail = end, False
            else:
                bad_tail = True
            pos = end
    if bad_tail and truncate_bad_tail:
        with open(path, "r+b") as fh:
            fh.truncate(good_end)
    return done


def _read_manifest(path: Path) -> Iterator[dict]:
    if not path.is_file():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash: its file is redone
            if isinstance(row, dict) and row.get("source") and row.get("file"):
                yield row
