#!/usr/bin/env python3
"""Runs reference scripts of this folder one after another in one Python
process, so that torch is imported once instead of once per script (about
1.3 s of CPU each, most of what a small script costs). Each runs as
`python SCRIPT ARG...` would: as __main__, with its own sys.argv; the scripts
seed their own generators and set no global torch state, so running them
together changes no output. The first that fails stops the run.

    run_in_one_process.py SCRIPT ARG... [-- SCRIPT ARG...]...
"""
import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    commands = [[]]
    for word in sys.argv[1:]:
        if word == "--":
            commands.append([])
        else:
            commands[-1].append(word)
    sys.path.insert(0, HERE)
    for command in commands:
        sys.argv = command
        runpy.run_path(os.path.join(HERE, command[0]), run_name="__main__")


if __name__ == "__main__":
    main()
