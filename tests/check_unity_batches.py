#!/usr/bin/python3
"""The test files compiled in one batch (cmake/unity_build.cmake) share no file-local name.

`make build` compiles the tests of a folder as one translation unit, except the files
listed in WHET_TEST_UNITY_SKIPPED. In a batch, a helper defined at the top level of one
file is seen by the next: the same name twice is a compile error at best and, for two
overloads, a call that silently binds to the other file's helper at worst. This check
lists every batched file's top-level definitions (functions, types, aliases, constants;
not TEST bodies) and fails when a name appears in two files of one batch, naming both
and the way out: skip the later file in cmake/unity_build.cmake, or rename the helper
(or share it in tests/test_support.h).

    check_unity_batches.py SOURCE_DIR
"""
import collections
import os
import re
import sys

# A top-level definition starts in column 0: a type, an alias, a constant, or a function.
TYPE = re.compile(r"^(?:template\s*<[^>]*>\s*)?(?:struct|class|union|enum(?:\s+class)?)\s+(\w+)\s*[:{]")
ALIAS = re.compile(r"^using\s+(\w+)\s*=")
CONSTANT = re.compile(r"^(?:static\s+)?(?:inline\s+)?(?:constexpr|const)\s+[\w:<>,\s\*&]+?\s(\w+)\s*(?:=|\{|\[)")
FUNCTION = re.compile(r"^(?:template\s*<[^>]*>\s*)?(?:(?:static|inline|constexpr)\s+)*[\w:<>,\s\*&]+?[\s\*&](\w+)\s*\(")
# Aliases that every test file may repeat: redeclaring an alias of the same type is allowed.
SHARED_ALIASES = {"json"}


def definitions(path):
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line or line[0] in " \t#/}\n" or line.startswith(("TEST", "namespace", "using namespace")):
                continue
            for pattern in (TYPE, ALIAS, CONSTANT, FUNCTION):
                found = pattern.match(line)
                if found:
                    if found.group(1) not in SHARED_ALIASES and found.group(1) != "main":
                        names.add(found.group(1))
                    break
    return names


def skipped_files(source):
    text = open(os.path.join(source, "cmake", "unity_build.cmake"), encoding="utf-8").read()
    listed = re.search(r"set\(WHET_TEST_UNITY_SKIPPED\s+([^)]*)\)", text)
    if not listed:
        sys.exit("check_unity_batches: cmake/unity_build.cmake has no set(WHET_TEST_UNITY_SKIPPED ...)")
    return set(listed.group(1).split())


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else "."
    skipped = skipped_files(source)
    batches = collections.defaultdict(list)
    for folder, _, files in os.walk(os.path.join(source, "tests")):
        for name in sorted(files):
            relative = os.path.relpath(os.path.join(folder, name), source)
            if name.endswith(".cpp") and relative not in skipped:
                batches[os.path.dirname(relative)].append(relative)
    missing = sorted(f for f in skipped if not os.path.exists(os.path.join(source, f)))
    problems = [f"{f}: in WHET_TEST_UNITY_SKIPPED but not a file" for f in missing]
    for folder, files in sorted(batches.items()):
        first_definer = {}
        for path in sorted(files):
            for name in sorted(definitions(os.path.join(source, path))):
                if name in first_definer:
                    problems.append(f"{path}: defines '{name}' as {first_definer[name]} does, in the same batch "
                                    f"(tests/{os.path.basename(folder)}): add {path} to WHET_TEST_UNITY_SKIPPED "
                                    "in cmake/unity_build.cmake, or rename the helper")
                else:
                    first_definer[name] = path
    for p in problems:
        print(p)
    print(f"check_unity_batches: {sum(len(f) for f in batches.values())} batched test files, "
          f"{len(skipped)} compiled alone, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
