// reelguard dashboard: keyboard review in the inbox, the two players of a
// match kept in step, the timeline's bars. Served as a file: the content
// security policy allows no inline script.
"use strict";

function inbox() {
  const rows = Array.from(document.querySelectorAll("#inbox tr.match"));
  const bulk = document.getElementById("bulk");
  if (!rows.length || !bulk) return;
  let at = 0;
  const show = () => rows.forEach((r, i) => r.classList.toggle("current", i === at));
  show();
  const act = (action) => {
    const picked = rows.filter((r) => r.querySelector("input.pick").checked);
    if (!picked.length) rows[at].querySelector("input.pick").checked = true;
    const button = bulk.querySelector("button.bulk-" + action);
    if (button) bulk.requestSubmit(button);
  };
  document.addEventListener("keydown", (e) => {
    if (e.target.matches("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
    switch (e.key) {
      case "j": at = Math.min(at + 1, rows.length - 1); show(); break;
      case "k": at = Math.max(at - 1, 0); show(); break;
      case "Enter": window.location = rows[at].dataset.href; break;
      case "x": { const box = rows[at].querySelector("input.pick"); box.checked = !box.checked; break; }
      case "c": act("confirmed"); break;
      case "d": act("dismissed"); break;
      case "l": act("licensed"); break;
      default: return;
    }
    e.preventDefault();
  });
}

function players() {
  const section = document.getElementById("players");
  const copy = document.getElementById("copy-video");
  const work = document.getElementById("work-video");
  if (!section || !copy || !work) return;
  // upload time = work time + offset
  const offset = parseFloat(section.dataset.offset) || 0;
  let syncing = false;
  const follow = (leader, follower, shift) => {
    const sync = () => {
      if (syncing) return;
      syncing = true;
      const t = Math.max(0, leader.currentTime + shift);
      if (Math.abs(follower.currentTime - t) > 0.2) follower.currentTime = t;
      syncing = false;
    };
    leader.addEventListener("seeked", sync);
    leader.addEventListener("play", () => { sync(); follower.play().catch(() => {}); });
    leader.addEventListener("pause", () => follower.pause());
  };
  follow(copy, work, -offset);
  follow(work, copy, offset);
  const start = () => { if (copy.readyState >= 1 && work.readyState >= 1) copy.currentTime = Math.max(0, offset); };
  copy.addEventListener("loadedmetadata", start);
  work.addEventListener("loadedmetadata", start);
  start();
}

function timeline() {
  document.querySelectorAll("#timeline .bar").forEach((bar) => {
    bar.style.left = bar.dataset.left + "%";
    bar.style.width = bar.dataset.width + "%";
  });
}

// A page whose work is under way (an upload being fingerprinted) reloads
// itself until it is done.
function refresh() {
  const marker = document.getElementById("refresh");
  if (!marker) return;
  const seconds = parseFloat(marker.dataset.seconds) || 2;
  setTimeout(() => window.location.reload(), seconds * 1000);
}

document.addEventListener("DOMContentLoaded", () => { inbox(); players(); timeline(); refresh(); });
