"""allure-behave's formatter, taught two things it lacks in 2.16.

- Scenarios grouped under a Gherkin `Rule:` are wrapped as tests too (it wraps only a feature's
  direct scenarios, so their steps would be reported outside any test).
- `allure.dynamic` labels (epic, story) reach the running test: its listener implements no
  `add_label` hook, so environment.py's labels would be dropped.
- A dry run writes no results: it runs nothing, and its results (every scenario skipped) would join
  the last real run's in the report.

CREDITFLOW_ALLURE_RESULTS names another results folder than behave.ini's: behave always adds the
configuration file's formatters and outfiles to the command line's, so a run that must not write over
reports/ (the self-tests, make soak) says where its results go.
"""

import os
from pathlib import Path

import allure_commons
from allure_behave.formatter import AllureFormatter as BaseAllureFormatter
from allure_commons.model2 import Label

from creditflow.config import ROOT


class DynamicLabels:
    def __init__(self, listener):
        self._listener = listener

    @allure_commons.hookimpl
    def add_label(self, label_type, labels):
        test = self._listener.logger.get_test(self._listener.current_scenario_uuid)
        if test is not None:
            test.labels.extend(Label(name=label_type, value=value) for value in labels)


class AllureFormatter(BaseAllureFormatter):
    def __init__(self, stream_opener, config):
        stream_opener.name = results_dir(stream_opener.name)
        super().__init__(stream_opener, config)
        if config.dry_run:
            allure_commons.plugin_manager.unregister(self.file_logger)
        self._labels = DynamicLabels(self.listener)
        allure_commons.plugin_manager.register(self._labels)

    def feature(self, feature):
        super().feature(feature)
        for rule in feature.iter_rules():
            self._wrap_scenario(rule.scenarios)

    def close(self):
        try:
            super().close()
        finally:
            if allure_commons.plugin_manager.is_registered(self._labels):
                allure_commons.plugin_manager.unregister(self._labels)


def results_dir(configured: str) -> str:
    return os.environ.get("CREDITFLOW_ALLURE_RESULTS") or configured


def results_dir_of(config) -> Path:
    """Where the Allure formatter writes in a behave run (behave.ini's outfiles, -o, or CREDITFLOW_ALLURE_RESULTS):
    cleared before each real run."""
    for index, name in enumerate(config.format or []):
        if name.endswith(":AllureFormatter") and index < len(config.outputs):
            return ROOT / results_dir(config.outputs[index].name)
    return ROOT / results_dir("reports/allure-results")
