// The dashboard's charts as ECharts options: bars that stay readable on a 390 px
// phone (labels never rotated, horizontal bars for named rows, values printed on
// the bars). Words come in already translated; nothing here is shown as is.
const GREEN = "#0b6e4f";
const RED = "#a61b1b";
const BLUE = "#0b4f8a";

/** Copies held per CLC letter: vertical bars, one per letter. */
export function lettersOption(lines, { held, onLoan, nameOf }) {
  return {
    tooltip: {
      trigger: "axis",
      axisPointer: { type: "shadow" },
      formatter: (items) => {
        const letter = items[0].name;
        return [nameOf(letter), ...items.map((item) => `${item.marker}${item.seriesName}: ${item.value}`)].join("<br>");
      },
    },
    legend: { top: 0, data: [held, onLoan] },
    grid: { left: 4, right: 4, top: 32, bottom: 4, containLabel: true },
    xAxis: { type: "category", data: lines.map((line) => line.class_letter), axisLabel: { interval: 0, fontSize: 11 } },
    yAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 11 } },
    series: [
      { name: held, type: "bar", data: lines.map((line) => line.held), itemStyle: { color: GREEN } },
      { name: onLoan, type: "bar", data: lines.map((line) => line.on_loan), itemStyle: { color: BLUE } },
    ],
  };
}

/** Named rows (classes) as horizontal bars, largest at the top. */
export function rowsOption(rows, { name, color = GREEN }) {
  const shown = [...rows].reverse();
  return {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    grid: { left: 4, right: 36, top: 4, bottom: 4, containLabel: true },
    xAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 11 } },
    yAxis: { type: "category", data: shown.map((row) => row.label), axisLabel: { fontSize: 12 } },
    series: [
      {
        name,
        type: "bar",
        data: shown.map((row) => row.value),
        label: { show: true, position: "right" },
        itemStyle: { color },
        barMaxWidth: 22,
      },
    ],
  };
}

export const COLORS = { GREEN, RED, BLUE };

/** A chart's height for `count` horizontal bars. */
export function rowsHeight(count) {
  return Math.max(120, count * 28 + 24);
}
