import { createChart, type IChartApi, type ISeriesApi, LineSeries, type UTCTimestamp } from "lightweight-charts";
import { useEffect, useRef } from "react";
import type { PricePoint } from "../lib/tick-book";

const localTime = (seconds: number) => new Date(seconds * 1000).toLocaleTimeString("en-GB", { hour12: false });

/** A small line chart of one underlying's last price (TradingView lightweight-charts). */
export function PriceChart({
  points,
  version,
  stale,
}: {
  points: readonly PricePoint[];
  version: number;
  stale: boolean;
}) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<{ api: IChartApi; series: ISeriesApi<"Line"> } | null>(null);

  useEffect(() => {
    if (!container.current) return;
    const api = createChart(container.current, {
      autoSize: true,
      // The attribution the library's licence asks for is a link under the charts (MarketScreen):
      // at this size the logo would cover the line.
      layout: { background: { color: "transparent" }, textColor: "#5b6472", fontSize: 11, attributionLogo: false },
      grid: { vertLines: { visible: false }, horzLines: { color: "#eef0f3" } },
      rightPriceScale: { borderVisible: false },
      timeScale: { borderVisible: false, timeVisible: true, secondsVisible: true, tickMarkFormatter: localTime },
      localization: { timeFormatter: localTime },
      handleScroll: false,
      handleScale: false,
      crosshair: { horzLine: { labelVisible: true }, vertLine: { labelVisible: true } },
    });
    const series = api.addSeries(LineSeries, {
      lineWidth: 2,
      color: "#2563eb",
      priceFormat: { type: "price", precision: 3, minMove: 0.001 },
      lastValueVisible: true,
      priceLineVisible: false,
    });
    chart.current = { api, series };
    return () => {
      chart.current = null;
      api.remove();
    };
  }, []);

  // `version` changes when a tick was added: the points array itself is appended in place.
  useEffect(() => {
    if (!chart.current || version < 0) return;
    chart.current.series.setData(points.map((p) => ({ time: p.time as UTCTimestamp, value: p.value })));
    // The whole (bounded) history across the width: a small chart has no room to scroll.
    chart.current.api.timeScale().fitContent();
    chart.current.series.applyOptions({ color: stale ? "#9aa3ae" : "#2563eb" });
  }, [points, version, stale]);

  return <div className="chart" ref={container} />;
}
