// Light and dark: html[data-theme] follows prefers-color-scheme until the
// user picks one with button[data-action=theme]; the pick is remembered.
import { setChartTheme } from "./charts/theme.js";

const KEY = "grpcscope.theme";

export function initTheme() {
  const button = document.querySelector('button[data-action="theme"]');
  const media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  let chosen = null;
  try {
    chosen = localStorage.getItem(KEY);
  } catch {
    chosen = null; // storage may be off (a report opened from a file)
  }
  if (chosen !== "light" && chosen !== "dark") chosen = null;

  function apply(name) {
    document.documentElement.dataset.theme = name;
    if (button) {
      const other = name === "dark" ? "light" : "dark";
      button.textContent = other;
      button.title = `Switch to the ${other} theme`;
    }
    setChartTheme(name);
  }
  const system = () => (media && media.matches ? "dark" : "light");
  apply(chosen || system());

  if (media) {
    const onChange = () => {
      if (!chosen) apply(system());
    };
    if (media.addEventListener) media.addEventListener("change", onChange);
    else if (media.addListener) media.addListener(onChange);
  }
  if (button) {
    button.addEventListener("click", () => {
      chosen = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
      try {
        localStorage.setItem(KEY, chosen);
      } catch {
        // not kept: fine
      }
      apply(chosen);
    });
  }
}
