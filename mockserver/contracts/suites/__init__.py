"""The contract suites (pytest + schemathesis), shipped inside the package so an installed
mockserver can run them: `mockserver contracts run`, or `pytest <this directory>`.

The top-level `contracts/` folder of the repository is a symlink to this directory.
"""
