// Live progress of queued and running delivery jobs: every row that names its job's URL is
// refreshed every two seconds until the job is done or failed. No inline script (the page's
// Content-Security-Policy allows only the gateway's own files).
"use strict";
(function () {
  const rows = Array.from(document.querySelectorAll("tr[data-job-url]"));
  if (rows.length === 0) return;
  const open = new Set(rows);
  async function refresh() {
    for (const row of Array.from(open)) {
      try {
        const answer = await fetch(row.dataset.jobUrl, { credentials: "same-origin" });
        if (!answer.ok) { open.delete(row); continue; }
        const job = await answer.json();
        row.querySelector(".job-status").textContent = job.status;
        row.querySelector(".job-rows").textContent = job.rows === null ? "—" : String(job.rows);
        if (job.status !== "queued" && job.status !== "running") open.delete(row);
      } catch (error) {
        open.delete(row);
      }
    }
    if (open.size > 0) window.setTimeout(refresh, 2000);
  }
  window.setTimeout(refresh, 2000);
})();
