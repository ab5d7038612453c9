/** The small bar chart of agents by state per queue (echarts, served from our own origin). */

import { STATES, STATE_COLORS, queueLabel, stateLabel } from "./format.js";

const ECHARTS = "/static/vendor/echarts/echarts.esm.min.js";

export class StateChart {
  constructor(chart, summary) {
    this.chart = chart;
    this.summary = summary;
    window.addEventListener("resize", () => this.chart.resize());
  }

  /** Loaded on demand, so that the figures still show if the chart library is missing. */
  static async create(box, summary) {
    const echarts = await import(ECHARTS);
    return new StateChart(echarts.init(box, null, { renderer: "canvas" }), summary);
  }

  /** Stacked bars: one per queue, one color per state; states nobody is in are left out. */
  show(queues) {
    const used = STATES.filter((s) => queues.some((q) => (q.agents_by_state || {})[s]));
    const names = queues.map((q) => queueLabel(q.queue));
    this.chart.setOption({
      animation: false,
      grid: { left: 8, right: 12, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0, itemWidth: 12, itemHeight: 10, textStyle: { fontSize: 11 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: names, inverse: true, axisLabel: { fontSize: 12 } },
      series: used.map((state) => ({
        name: stateLabel(state),
        type: "bar",
        stack: "agents",
        barMaxWidth: 18,
        itemStyle: { color: STATE_COLORS[state] },
        data: queues.map((q) => (q.agents_by_state || {})[state] || 0),
      })),
    }, { notMerge: true });
    this.summary.textContent = queues.map((q) => {
      const parts = used.filter((s) => (q.agents_by_state || {})[s])
        .map((s) => `${stateLabel(s)} ${q.agents_by_state[s]} 人`);
      return `${queueLabel(q.queue)}：${parts.length ? parts.join("，") : "无坐席"}`;
    }).join("；");
  }
}
