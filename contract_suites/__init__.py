"""The contract suites (pytest + schemathesis), shipped inside the package so an installed
mockserver can run them: `mockserver contracts run`, or `pytest <this directory>`.

In the repository this is the top-level `contract_suites/` folder, installed as
`mockserver.contract_suites` (the harness that runs it is `mockserver.contracts`).
"""
