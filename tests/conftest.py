pytest_plugins = ["kamusm.testing.pytest_plugin"]
