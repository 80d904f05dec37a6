"""What a run reports: the guide's three report files, the conformance report and the matrix, what changed
between two releases, and the Allure report; `writers` calls each once when the run finishes."""
