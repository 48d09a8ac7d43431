// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // Move focus to the error summary so screen readers announce what went wrong. Without one, the page that
  // follows a form sent (a redirect) takes the focus to what the portal says of it ("Saved.", "3 invitations
  // sent."): it began at its top, and a screen reader's user heard the header's links, not whether it worked
  // (WCAG 4.1.3, 2.4.3). The Tab key goes on into the page's content. A page that puts the focus in a field of
  // its own (`autofocus`: the second factor's code) keeps it there.
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
  else if (!focusFinishedJob() && !document.querySelector("[autofocus]")) {
    document.querySelector("main > .messages")?.focus();
  }
  markScrollingTables();
  // Confirmation for dangerous buttons, without inline script.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});
// A table wider than its container (a phone, a window made narrower, text zoomed) scrolls in it: such a container
// is reachable by keyboard and named after its table, on every page (WCAG 2.1.1; axe "scrollable-region-focusable").
// Checked again whenever the window's size changes and after htmx has put content in: a table that fitted when
// the page loaded and overflows once the window is narrowed or the text zoomed could not be scrolled by keyboard.
// A container that no longer overflows is no longer a stop of the Tab key.
function markScrollingTables() {
  document.querySelectorAll(".table-responsive").forEach((box) => {
    const marked = box.hasAttribute("data-scroll-marked");
    if (box.hasAttribute("tabindex") && !marked) return; // the template's own
    if (box.scrollWidth > box.clientWidth) {
      if (marked) return;
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      const name = box.querySelector("caption") || box.closest("section")?.querySelector("h2, h3");
      const named = name && !box.hasAttribute("aria-label");
      if (named) box.setAttribute("aria-label", name.textContent.trim());
      box.setAttribute("data-scroll-marked", named ? "named" : "");
    } else if (marked && document.activeElement !== box) {
      if (box.getAttribute("data-scroll-marked") === "named") box.removeAttribute("aria-label");
      for (const attribute of ["tabindex", "role", "data-scroll-marked"]) box.removeAttribute(attribute);
    }
  });
}
let scrollingTablesTimer;
window.addEventListener("resize", () => {
  window.clearTimeout(scrollingTablesTimer);
  scrollingTablesTimer = window.setTimeout(markScrollingTables, 150);
});
document.addEventListener("htmx:afterSettle", markScrollingTables);
// Choices loaded into a select out of band (htmx: the org units and agreements of the partner chosen on the
// agreement form) start at the option the server marks as selected. htmx inserts the new options before it
// removes the old ones, and the browser kept the last new option selected.
document.addEventListener("htmx:oobAfterSwap", (event) => {
  const select = event.detail.target;
  if (!(select instanceof HTMLSelectElement)) return;
  const marked = select.querySelector("option[selected]");
  select.selectedIndex = marked ? marked.index : 0;
});
// A form that was sent is not sent again by a second click or Enter while its answer is on the way: the server
// would have done the work twice (a question posted twice, a course date created twice). Listening on the
// document, this runs after a form's own handlers: a cancelled confirmation and htmx's forms (which send
// themselves) are left alone. After ten seconds without an answer the form can be sent again (a lost
// connection); a page restored by the back button starts unsent.
const SENDING_FOR_MS = 10000;
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || form.method !== "post") return;
  if (form.hasAttribute("data-sending")) {
    event.preventDefault();
    return;
  }
  form.setAttribute("data-sending", "");
  form.setAttribute("aria-busy", "true");
  window.setTimeout(() => formSendable(form), SENDING_FOR_MS);
});
function formSendable(form) {
  form.removeAttribute("data-sending");
  form.removeAttribute("aria-busy");
}
window.addEventListener("pageshow", (event) => {
  if (event.persisted) document.querySelectorAll("form[data-sending]").forEach(formSendable);
});
// A request of htmx that fails (the server answers with an error, or cannot be reached) changed nothing on the page,
// without a word: a job's status kept saying "Läuft …" while the portal was unreachable, a select kept the options
// of the partner chosen before. The part of the page says so (role="alert") until one of its requests succeeds
// again: polling goes on by itself, and the swapped-in answer replaces the note.
const htmxFailures = new WeakMap();
const htmxFailedText = document.currentScript.dataset.htmxFailed; // the page's language (includes/htmx.html)
function htmxFailed(event) {
  const element = event.detail.elt;
  if (!(element instanceof Element) || htmxFailures.has(element)) return;
  const note = document.createElement("p");
  note.className = "htmx-failure text-danger small mt-1 mb-0";
  note.setAttribute("role", "alert");
  note.textContent = htmxFailedText;
  if (element.matches("select, input, textarea")) element.insertAdjacentElement("afterend", note);
  else element.append(note);
  htmxFailures.set(element, note);
}
for (const type of ["htmx:responseError", "htmx:sendError", "htmx:timeout"]) {
  document.addEventListener(type, htmxFailed);
}
document.addEventListener("htmx:afterRequest", (event) => {
  const element = event.detail.elt;
  if (!event.detail.successful || !htmxFailures.has(element)) return;
  htmxFailures.get(element).remove();
  htmxFailures.delete(element);
});
// A job that finishes while its page polls (jobs/job_status.html) reloads the page (HX-Refresh: an agreement's
// documents, a campaign's figures show its result too). The reloaded page began at its top, with nothing said: a
// screen reader's user did not learn that the job had finished, nor whether it failed (WCAG 4.1.3). The page
// remembers which job it reloads for (this tab only), and the reloaded page takes the focus to that job's status,
// which is then read out; the Tab key goes on from there (the download link, the retry button).
const FINISHED_JOB_KEY = "vielfalt.job.finished";
document.addEventListener("htmx:beforeOnLoad", (event) => {
  const element = event.detail.elt;
  if (!(element instanceof Element) || !element.matches(".job-status[data-job]")) return;
  if (event.detail.xhr.getResponseHeader("HX-Refresh") !== "true") return;
  window.sessionStorage.setItem(FINISHED_JOB_KEY, element.dataset.job);
});
function focusFinishedJob() {
  const job = window.sessionStorage.getItem(FINISHED_JOB_KEY);
  if (!job) return false;
  window.sessionStorage.removeItem(FINISHED_JOB_KEY);
  const status = document.querySelector(`.job-status[data-job="${CSS.escape(job)}"]`);
  if (!status) return false;
  status.tabIndex = -1;
  status.focus();
  return true;
}
