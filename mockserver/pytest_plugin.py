"""The pytest plugin's registered name (entry point `pytest11`, and `-p mockserver.pytest_plugin`).

The fixtures live in `mockserver.testing.plugin`; this name is the same module object, so
registering the plugin under either name registers it once.
"""

import sys

from .testing import plugin

sys.modules[__name__] = plugin
