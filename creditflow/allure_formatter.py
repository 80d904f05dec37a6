"""allure-behave's formatter, taught about Gherkin `Rule:` blocks.

allure-behave 2.16 wraps only a feature's direct scenarios, so scenarios grouped under a Rule would
be reported with no test around their steps. This formatter wraps those too.
"""

from allure_behave.formatter import AllureFormatter as BaseAllureFormatter


class AllureFormatter(BaseAllureFormatter):
    def feature(self, feature):
        super().feature(feature)
        for rule in feature.iter_rules():
            self._wrap_scenario(rule.scenarios)
