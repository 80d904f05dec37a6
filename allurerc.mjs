// Allure 3: one self-contained HTML file, so the report opens from disk.
import { readFileSync } from "node:fs";

// The same categories environment.py writes beside the results (product defect, environment, suite).
const categories = JSON.parse(readFileSync(new URL("./allure-categories.json", import.meta.url), "utf8"));

export default {
  name: "Ops-Center credit flow",
  output: "./reports/allure-report",
  // make soak keeps the runs' history here: the report then shows the trend and marks flaky tests.
  historyPath: process.env.CREDITFLOW_ALLURE_HISTORY || undefined,
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
