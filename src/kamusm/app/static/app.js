// kamusm app: the countdown and the on-screen keypad. No rule about PINs lives here: the
// server's flow judges every PIN. Nothing is stored in the browser.
"use strict";

function startCountdown() {
  const box = document.getElementById("countdown");
  if (!box) { return; }
  const shown = box.querySelector(".seconds");
  let left = parseInt(box.dataset.remaining, 10);
  if (!Number.isFinite(left)) { return; }
  const tick = () => {
    if (left <= 0) {
      box.classList.add("over");
      box.textContent = box.dataset.expired;
      return;
    }
    shown.textContent = String(left);
    left -= 1;
    window.setTimeout(tick, 1000);
  };
  tick();
}

function startKeypad() {
  const fields = Array.from(document.querySelectorAll("input[data-keypad]"));
  if (fields.length === 0) { return; }
  let target = fields.find((f) => f.autofocus) || fields[0];
  fields.forEach((f) => f.addEventListener("focus", () => { target = f; }));
  document.querySelectorAll(".keypad .key").forEach((key) => {
    key.addEventListener("click", () => {
      const what = key.dataset.key;
      if (what === "clear") {
        target.value = "";
      } else if (what === "back") {
        target.value = target.value.slice(0, -1);
      } else if (target.maxLength < 0 || target.value.length < target.maxLength) {
        target.value += what;
      }
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  startCountdown();
  startKeypad();
});
