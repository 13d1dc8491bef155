"""The ``odah`` command line.

Each subcommand lives in ``pipeline/commands/<name>.py`` and defines ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args, cfg) -> int``. Heavy imports (torch, opensim) happen
inside ``run`` so that ``odah --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from . import __version__
from .errors import OdahError
from .log import get_logger, setup_logging

#: (subcommand, module under pipeline.commands), in the order --help lists them.
COMMANDS: list[tuple[str, str]] = [
    ("dataset", "dataset"),
    ("markers", "markers"),
    ("scale", "scale"),
    ("ik", "ik"),
    ("fk", "fk"),
    ("scene", "scene"),
    ("render", "render"),
    ("preview", "preview"),
    ("render-check", "render_check"),
    ("config", "config_cmd"),
]

EPILOG = """\
Every subcommand takes -c/--config PRESET (a shipped preset name or a YAML file) and
key=value overrides with -s/--set, e.g.  odah render-check -s render.samples=4
Run 'odah config --list' to see every configuration key, its default, unit and range.
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep descriptions and examples as written; append an option's default unless its help
    already says it or there is none."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.required or action.default in (None, False, argparse.SUPPRESS, []):
            return text
        return text + " (default: %(default)s)"


def _common_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("configuration and output")
    g.add_argument("-c", "--config", metavar="PRESET",
                   help="preset name (see 'odah config --presets') or a YAML file; default: built-in defaults")
    g.add_argument("-s", "--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
                   help="override one config key, e.g. -s render.width=320 (repeatable)")
    g.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="odah",
        description="odah: motion capture -> labelled synthetic two-view videos for markerless biomechanics.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"odah {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    common = _common_parser()
    for name, module_name in COMMANDS:
        module = importlib.import_module(f"pipeline.commands.{module_name}")
        p = sub.add_parser(name, help=module.HELP, description=getattr(module, "DESCRIPTION", module.HELP),
                           parents=[common], formatter_class=HelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    setup_logging(args.verbose)
    log = get_logger()
    try:
        from .config import load_config

        cfg = load_config(args.config, args.overrides)
        return int(args._module.run(args, cfg) or 0)
    except OdahError as exc:
        if args.verbose:
            log.exception("%s", exc)
        else:
            log.error("%s", exc)
        return exc.exit_code
    except OSError as exc:
        # the operating system refused a file (a folder where a file belongs, no permission, a
        # full disk): the path and the reason are the message, the traceback is for --verbose
        if args.verbose:
            log.exception("%s", exc)
        else:
            where = exc.filename2 or exc.filename
            log.error("%s%s", f"{where}: " if where else "", exc.strerror or exc)
        return 1
    except KeyboardInterrupt as exc:
        # Ctrl-C, or a stop signal during a render (pipeline.render.launcher.Interrupted): exit as
        # the shell reports a signal, 128 + its number
        signum = getattr(exc, "signum", signal.SIGINT)
        log.error("interrupted (%s)", signal.Signals(signum).name)
        return 128 + signum


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
