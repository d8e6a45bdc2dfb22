"""The tool bundles' documentation, printed for the installed bundles (:mod:`mlgym.specs.tooldocs`).

    python -m mlgym.cli.tooldocs                   # the prompt text of every installed bundle
    python -m mlgym.cli.tooldocs --markdown        # the Markdown reference
    python -m mlgym.cli.tooldocs --json files      # tool-calling schemas of the bundle 'files'
    python -m mlgym.cli.tooldocs --update docs/tools.md files literature memory
                                                   # rewrite the generated part of a page
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mlgym.plugins.registry import get_registry
from mlgym.specs.tooldocs import render_markdown, render_prompt, tool_schemas, update_page
from mlgym.specs.tools import ToolBundle


def installed_bundles(ids: list[str] | None = None) -> list[ToolBundle]:
    """The installed bundles, all or the given ids, sorted by id."""
    registry = get_registry()
    return [registry.get("tools", i) for i in (ids or registry.ids("tools"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlgym.cli.tooldocs",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("bundles", nargs="*", help="bundle ids (default: every installed bundle)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--markdown", action="store_true", help="the Markdown reference")
    form.add_argument("--json", action="store_true", help="tool-calling function schemas")
    form.add_argument("--update", metavar="PAGE", type=Path,
                      help="rewrite the generated section of a Markdown page")
    args = parser.parse_args(argv)
    bundles = installed_bundles(args.bundles)
    if args.update:
        changed = update_page(args.update, bundles)
        print(f"{args.update}: {'updated' if changed else 'already current'}")
    elif args.markdown:
        sys.stdout.write(render_markdown(bundles))
    elif args.json:
        print(json.dumps(tool_schemas(bundles), indent=2))
    else:
        print(render_prompt(bundles))
    return 0


if __name__ == "__main__":
    sys.exit(main())
