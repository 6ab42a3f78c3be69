"""Builds the package with its stubs: build_py generates them from the repository's proto/
(generate_stubs.py) into the build tree, so that the source tree never holds generated code."""
import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate_stubs  # noqa: E402


class BuildWithStubs(build_py):
    def run(self):
        super().run()
        if not self.dry_run:
            generate_stubs.write_stubs(self.build_lib)


setup(packages=["actserve"], cmdclass={"build_py": BuildWithStubs})
