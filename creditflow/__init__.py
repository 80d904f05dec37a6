"""creditflow: the driver of the Ops-Center credit-flow acceptance suite, in floors.

Each folder is a floor and imports only its own floor and those below it (tests/test_layers.py holds the order):
  run/, load/, fuzzing/  opening a run and its scenarios; the suite under load; the fuzzer
  reporting/             the guide's reports, the conformance reports, the matrix, the Allure report
  judging/               a scenario's verdict, its findings, the expectations, the books after a scenario
  screenplay/            actors, the tasks they perform and the questions they ask, the scene, the Gherkin's values
  rules/                 what the contract's rules mean apart from any deployment: money, the quota's period, keys
  deployments/           one adapter per deployment: the only place that knows a path, a header or a table
  systems/               clients of the real systems and the doubles: Keycloak, Lago, the payment provider
The modules here are the ground floor every floor stands on: configuration, verdict kinds, evidence, redaction,
wording, flows, metrics and the launcher's interface; they import no floor.
"""
