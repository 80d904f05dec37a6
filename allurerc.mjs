// Allure 3: one self-contained HTML file, so the report opens from disk.
import { readFileSync } from "node:fs";

// The same categories environment.py writes beside the results (product defect, environment, suite).
const categories = JSON.parse(readFileSync(new URL("./allure-categories.json", import.meta.url), "utf8"));

// creditflow/reporting/allure_report.py names the report after the run it shows, and says which history file the report
// shows the trend of (and marks flaky tests from), and whether to add this run to it: once per run.
export default {
  name: process.env.CREDITFLOW_ALLURE_NAME || "Ops-Center credit flow",
  output: "./reports/allure-report",
  historyPath: process.env.CREDITFLOW_ALLURE_HISTORY || undefined,
  appendHistory: process.env.CREDITFLOW_ALLURE_APPEND_HISTORY !== "0",
  categories,
  plugins: {
    awesome: {
      options: {
        singleFile: true,
        reportLanguage: "en",
        groupBy: ["epic", "feature", "story"],
      },
    },
  },
};
