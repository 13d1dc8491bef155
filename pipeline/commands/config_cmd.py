"""``odah config``: show the resolved configuration, every key, or the presets."""

from __future__ import annotations

import argparse
import sys
import textwrap

HELP = "show the resolved configuration, list every key with its default and range, or the presets"
DESCRIPTION = """\
Print the configuration that -c/--config and -s/--set resolve to (YAML; with --out: save it there
and print only where), or with --list every key with its default, unit, allowed range and meaning.
Use it to check a preset before a long run.

examples:  odah config --list
           odah config -c odah -s render.samples=4 --out my_run.yaml   # then: odah dataset -c my_run.yaml
           odah config --presets"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--list", action="store_true", help="list every key, default, unit/range and help text")
    g.add_argument("--presets", action="store_true", help="list the shipped presets")
    p.add_argument("--out", metavar="FILE.yaml", help="save the resolved configuration to this file instead of printing it")


def run(args, cfg) -> int:
    from ..config import available_presets, config_to_yaml, describe_config, preset_description, save_config
    from ..errors import ConfigError
    from ..io_utils import check_output

    if args.out and (args.list or args.presets):
        raise ConfigError("odah config: --out saves the resolved configuration; it does not go with --list or "
                          "--presets")
    if args.list:
        rows = describe_config()
        w = max(len(r[0]) for r in rows)
        help_col = w + 2 + 13 + 25
        for key, default, allowed, help_text in rows:
            head = f"{key:<{w}}  {default:<12} {allowed:<24} "
            if len(head) > help_col:  # a long default or range: the meaning starts a line below, in its column
                print(head.rstrip())
                head = " " * help_col
            print(head + help_text)
        return 0
    if args.presets:
        names = available_presets()
        w = max(map(len, names))
        for name in names:
            print(f"{name:<{w}}  " + textwrap.fill(preset_description(name), 96, subsequent_indent=" " * (w + 2)))
        return 0
    if args.out:  # the file is the output; the terminal only says where it went
        check_output(args.out, ConfigError, "the configuration")
        print(f"wrote {save_config(cfg, args.out)}")
        return 0
    sys.stdout.write(config_to_yaml(cfg))
    return 0
