// The training pages' only script: the copy button and the "Kalan süre" countdown.
"use strict";

function startCopy() {
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      const status = document.getElementById("copied");
      const value = source.textContent.trim();
      try {
        await navigator.clipboard.writeText(value);
      } catch (err) {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        document.execCommand("copy");
        selection.removeAllRanges();
      }
      if (status) { status.textContent = button.dataset.done; }
    });
  });
}

function startCountdown() {
  const box = document.getElementById("countdown");
  if (!box) { return; }
  let left = parseInt(box.dataset.remaining, 10);
  if (!Number.isFinite(left)) { return; }
  const tick = () => {
    if (left <= 0) {
      box.classList.add("over");
      box.textContent = box.dataset.expired;
      return;
    }
    box.textContent = box.dataset.template.replace("{seconds}", String(left));
    left -= 1;
    window.setTimeout(tick, 1000);
  };
  tick();
}

document.addEventListener("DOMContentLoaded", () => {
  startCopy();
  startCountdown();
});
