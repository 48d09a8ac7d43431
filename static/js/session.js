// The session's time limits, announced before they end (WCAG 2.2.1 Timing Adjustable; vielfalt.middleware), on the
// portal's pages and in the Django admin: after 30 minutes without a request, which "Stay logged in" extends as
// often as wanted, and 12 hours after the login, which only a new login ends. The page reads both from the
// warning's data-session-* (includes/session_warning.html). The server extends a session at most once a minute, so
// the idle time counts from a minute before the page's load. Another tab of the portal that loads a page or is kept
// logged in moves the time on here too (localStorage). Someone typing or clicking in a page is not idle, though the
// server has not heard of it: their session is extended without asking, not their work lost.
const SESSION_ACTIVITY_KEY = "vielfalt.session.activity";
document.addEventListener("DOMContentLoaded", () => {
  const warning = document.getElementById("session-warning");
  if (!warning) return;
  const timing = warning.dataset;
  const space = document.getElementById("session-warning-space");
  const idleMs = (Number(timing.sessionIdle) - Number(timing.sessionSlack)) * 1000;
  const warnMs = Number(timing.sessionWarn) * 1000;
  const endsAt = Number(timing.sessionEnds) * 1000;
  const loadedAt = Date.now();
  let shown = null;
  let lastInput = 0;
  let keeping = null;
  let focusBefore = null;
  const keep = warning.querySelector("[data-session-keep]");
  const activity = () => Math.max(loadedAt, Number(window.localStorage.getItem(SESSION_ACTIVITY_KEY)) || 0);
  const show = (state) => {
    if (state === shown) return;
    const hadFocus = warning.contains(document.activeElement);
    shown = state;
    warning.hidden = state === null;
    warning.querySelectorAll("[data-session-state]").forEach((part) => {
      part.hidden = part.dataset.sessionState !== state;
    });
    // Room below the page for the warning, so that it covers nothing scrolled to the end (the form's button it
    // asks to save with, the footer's links); on a phone it is a third of the screen.
    space.hidden = state === null;
    space.style.height = state === null ? "" : `${warning.offsetHeight + 32}px`;
    // The question whether to stay takes the focus to its button (WCAG 2.2.1). A key pressed in the page extends the
    // session by itself, but a screen reader in its reading mode sends the page no keys: its user heard the warning
    // and had to search for the button, after the page's footer. It comes only after almost half an hour without a
    // key pressed, so it interrupts no typing. Answered, the focus goes back where it was; if the session ended
    // meanwhile, to the link that logs in again.
    if (state === "idle") {
      focusBefore = document.activeElement;
      keep.focus();
    } else if (hadFocus) {
      const target = state === "ended" ? warning.querySelector('[data-session-state="ended"] a') : focusBefore;
      if (target && target.isConnected) target.focus({ preventScroll: true });
    }
  };
  const keepAlive = () => {
    keeping ??= fetch(timing.sessionKeepAlive, {
      method: "POST",
      headers: { "X-CSRFToken": timing.sessionCsrf || JSON.parse(document.body.dataset.hxHeaders)["X-CSRFToken"] },
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
  keep.addEventListener("click", keepAlive);
});
