"""The credit flow under load (make load): the suite's personas as Locust users, then the run-wide checks.

`plan` arranges the personas through the deployment layer (in calls' worth) and says how the load runs;
`figures` turns the measured samples into per-operation and per-step figures against the guide's budgets;
`verdict` checks the money after the load and writes the summary. The Locust users are in
loadtest/locustfile.py; scripts/load.py runs it all.
"""
