// Steps 6-7: the server pushes the import's progress (server-sent events): state, counts
// and the run's progress object (phase, rows, percent, rate, ETA). The page shows them
// and reloads once the import settles.
const section = document.getElementById("progress");
const line = document.getElementById("rows-line");
const phase = document.getElementById("phase-line");
const bar = document.getElementById("bar");
const source = new EventSource(section.dataset.events);
const icons = { validating: "⟳", running: "⟳", queued: "…", reverting: "↶" };
const settled = new Set(["validated", "validation_failed", "succeeded", "partially_succeeded", "failed", "cancelled", "reverted"]);
const number = (n) => Math.round(n).toLocaleString("en");

// the same words as the template's progress_line macro
function describe(p) {
  if (!p || !p.phase) return null;
  const parts = [];
  if (p.phase === "writing") {
    parts.push(p.rows_to_write == null
      ? `${number(p.rows_written)} rows done`
      : `${number(p.rows_written)} of ${number(p.rows_to_write)} rows done`);
  } else {
    parts.push(`${number(p.rows_read)} rows read`);
  }
  if (p.percent != null) parts.push(`${Math.round(p.percent)}%`);
  if (p.rows_per_second) parts.push(`${number(p.rows_per_second)} rows/s`);
  if (p.eta_seconds != null) {
    const eta = p.eta_seconds >= 90 ? `${Math.round(p.eta_seconds / 60)} min` : `${Math.round(p.eta_seconds)} s`;
    parts.push(`about ${eta} left`);
  }
  return parts;
}

function showProgress(p) {
  const parts = describe(p);
  if (!parts) return;
  const strong = document.createElement("strong");
  strong.textContent = p.phase;
  phase.replaceChildren(strong, ` · ${parts.join(" · ")}`);
  if (bar) {
    if (p.percent == null) bar.removeAttribute("value");  // a phase with no measure
    else bar.value = p.percent;
  }
}

source.addEventListener("progress", (event) => {
  const imp = JSON.parse(event.data);
  const badge = section.querySelector("#state-line .state");
  badge.className = `state state-${imp.state}`;
  badge.firstChild.textContent = icons[imp.state] || "•";
  badge.lastChild.textContent = ` ${imp.state.replaceAll("_", " ")}`;
  line.textContent = imp.rows_total
    ? `${number(imp.rows_processed)} of ${number(imp.rows_total)} rows`
    : `${number(imp.rows_processed)} rows so far`;
  showProgress(imp.progress);
  for (const [name, value] of Object.entries(imp.counts)) {
    const cell = section.querySelector(`[data-count="${name}"]`);
    if (cell) cell.textContent = number(value);
  }
  if (settled.has(imp.state)) {
    source.close();
    window.location.reload();
  }
});
source.onerror = () => {
  // the stream ended (or the server restarted): the browser retries by itself
};
