// Allure 3: one self-contained HTML file, so the report opens from disk.
export default {
  name: "Ops-Center credit flow",
  output: "./reports/allure-report",
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
