// The questionnaire's time limit, announced before it ends (WCAG 2.2.1 Timing Adjustable). The respondent's state
// lasts SESSION_COOKIE_AGE from opening the link or entering the code (surveys.views.AnswerView); before, the time
// ran out without a word, and the answers of someone who needs longer (a screen reader, easy-to-read language) were
// lost when they sent them. A few minutes before the end a warning says so and takes the focus to its button, which
// sends the answers ticked so far and asks for more time; the page that follows says it was given and takes the
// focus, so that a screen reader reads it. The page counts from its load (the device's clock may be wrong).
document.addEventListener("DOMContentLoaded", () => {
  const given = document.getElementById("more-time-given");
  if (given) given.focus();
  const warning = document.getElementById("time-warning");
  if (!warning) return;
  const space = document.getElementById("time-warning-space");
  const warnAt = Date.now() + (Number(warning.dataset.secondsLeft) - Number(warning.dataset.warnSeconds)) * 1000;
  const check = () => {
    if (Date.now() < warnAt) return;
    window.clearInterval(timer);
    warning.hidden = false;
    // Room below the page, so that the warning covers nothing scrolled to the end (the button that sends the answers).
    space.hidden = false;
    space.style.height = `${warning.offsetHeight + 32}px`;
    warning.querySelector("button").focus();
  };
  const timer = window.setInterval(check, 1000);
  check();
});
