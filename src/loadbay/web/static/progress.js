// Steps 6-7: the server pushes the import's progress (server-sent events); the page
// shows it and reloads once the import settles.
const section = document.getElementById("progress");
const line = document.getElementById("rows-line");
const bar = document.getElementById("bar");
const source = new EventSource(section.dataset.events);
const icons = { validating: "⟳", running: "⟳", queued: "…", reverting: "↶" };
const settled = new Set(["validated", "succeeded", "partially_succeeded", "failed", "cancelled", "reverted"]);

source.addEventListener("progress", (event) => {
  const imp = JSON.parse(event.data);
  const badge = section.querySelector("#state-line .state");
  badge.className = `state state-${imp.state}`;
  badge.firstChild.textContent = icons[imp.state] || "•";
  badge.lastChild.textContent = ` ${imp.state.replaceAll("_", " ")}`;
  line.textContent = imp.rows_total
    ? `${imp.rows_processed} of ${imp.rows_total} rows`
    : `${imp.rows_processed} rows so far`;
  if (bar) {
    bar.max = imp.rows_total || 1;
    bar.value = imp.rows_processed;
  }
  for (const [name, value] of Object.entries(imp.counts)) {
    const cell = section.querySelector(`[data-count="${name}"]`);
    if (cell) cell.textContent = value;
  }
  if (settled.has(imp.state)) {
    source.close();
    window.location.reload();
  }
});
source.onerror = () => {
  // the stream ended (or the server restarted): the browser retries by itself
};
