// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // Move focus to the error summary so screen readers announce what went wrong.
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
  // A table wider than a phone scrolls in its container: make such a container reachable by keyboard and
  // named after its table, on every page (WCAG 2.1.1; axe "scrollable-region-focusable").
  document.querySelectorAll(".table-responsive:not([tabindex])").forEach((box) => {
    if (box.scrollWidth <= box.clientWidth) return;
    box.tabIndex = 0;
    box.setAttribute("role", "region");
    const name = box.querySelector("caption") || box.closest("section")?.querySelector("h2, h3");
    if (name) box.setAttribute("aria-label", name.textContent.trim());
  });
  // Confirmation for dangerous buttons, without inline script.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});
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
// The session's time limits, announced before they end (WCAG 2.2.1 Timing Adjustable; vielfalt.middleware): after
// 30 minutes without a request, which "Stay logged in" extends as often as wanted, and 12 hours after the login,
// which only a new login ends. The page reads both from <body data-session-*>. The server extends a session at most
// once a minute, so the idle time counts from a minute before the page's load. Another tab of the portal that loads
// a page or is kept logged in moves the time on here too (localStorage). Someone typing or clicking in a page is
// not idle, though the server has not heard of it: their session is extended without asking, not their work lost.
const SESSION_ACTIVITY_KEY = "vielfalt.session.activity";
document.addEventListener("DOMContentLoaded", () => {
  const timing = document.body.dataset;
  const warning = document.getElementById("session-warning");
  if (!timing.sessionIdle || !warning) return;
  const idleMs = (Number(timing.sessionIdle) - Number(timing.sessionSlack)) * 1000;
  const warnMs = Number(timing.sessionWarn) * 1000;
  const endsAt = Number(timing.sessionEnds) * 1000;
  const loadedAt = Date.now();
  let shown = null;
  let lastInput = 0;
  let keeping = null;
  const activity = () => Math.max(loadedAt, Number(window.localStorage.getItem(SESSION_ACTIVITY_KEY)) || 0);
  const show = (state) => {
    if (state === shown) return;
    shown = state;
    warning.hidden = state === null;
    warning.querySelectorAll("[data-session-state]").forEach((part) => {
      part.hidden = part.dataset.sessionState !== state;
    });
  };
  const keepAlive = () => {
    keeping ??= fetch(timing.sessionKeepAlive, {
      method: "POST",
      headers: { "X-CSRFToken": JSON.parse(timing.hxHeaders)["X-CSRFToken"] },
      credentials: "same-origin",
      redirect: "manual",
    })
      .then((response) => response.status === 204)
      .catch(() => false)
      .then((kept) => {
        keeping = null;
        if (kept) window.localStorage.setItem(SESSION_ACTIVITY_KEY, String(Date.now()));
        check(kept ? undefined : "ended");
      });
  };
  const check = (forced) => {
    const now = Date.now();
    const idleEnd = activity() + idleMs;
    const end = Math.min(idleEnd, endsAt);
    if (forced || now >= end) return show(forced || "ended");
    if (now < end - warnMs) return show(null);
    if (endsAt <= idleEnd) return show("lifetime");
    if (lastInput > activity()) return keepAlive();
    return show("idle");
  };
  for (const type of ["keydown", "pointerdown", "input"]) {
    document.addEventListener(type, () => (lastInput = Date.now()), { capture: true, passive: true });
  }
  window.localStorage.setItem(SESSION_ACTIVITY_KEY, String(loadedAt));
  window.addEventListener("storage", (event) => event.key === SESSION_ACTIVITY_KEY && check());
  window.setInterval(check, 1000);
  warning.querySelector("[data-session-keep]").addEventListener("click", keepAlive);
});
